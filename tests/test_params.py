"""Parameters declared once: validation, parsing by declared type, tables, sliders."""

from dataclasses import dataclass

import numpy as np
import pytest

from labsim import ConfigError, Fault
from labsim.lessons import LESSONS, check_parameters
from labsim.params import Params, build_params, describe, param, parse_text, same_as, slider, specs


@dataclass(frozen=True)
class Knobs(Params):
    context = "knobs"

    count: int = param(3, "how many", ge=1, le=100)
    rate: float = param(2.0, "per second", gt=0, unit="1/s", soft_max=10)
    flag: bool = param(False, "on or off")
    mode: str = param("a", "which way", choices=("a", "b"))
    until: float | None = param(None, "when it stops", ge=0, unit="s")
    faults: tuple[Fault, ...] = param((), "faults")
    sizes: tuple[int, ...] = param((1, 2), "sizes", ge=1)

    def check(self) -> None:
        if self.until is not None and self.until < self.rate:
            raise self.error("until", f"a time >= rate ({self.rate})")


@pytest.mark.parametrize(
    "name, value",
    [
        ("flag", "yes-please"),
        ("flag", "flase"),
        ("flag", 0.5),
        ("flag", []),
        ("flag", 1),
        ("count", True),
        ("count", 2.0),
        ("count", "3"),
        ("count", 0),
        ("count", 101),
        ("rate", float("nan")),
        ("rate", float("inf")),
        ("rate", 0),
        ("rate", "1e3"),
        ("mode", "c"),
        ("until", float("nan")),
        ("faults", 5),
        ("faults", [5]),
        ("sizes", []),
        ("sizes", [1, 0]),
        ("sizes", "12"),
    ],
)
def test_bad_values_name_the_parameter_and_what_is_accepted(name, value):
    with pytest.raises(ConfigError) as err:
        Knobs(**{name: value})
    assert err.value.parameter == name and "knobs" in str(err.value)


def test_numpy_numbers_count_as_numbers_and_come_back_as_python_ones():
    k = Knobs(count=np.int64(4), rate=np.float32(1.5), flag=np.bool_(True), sizes=np.arange(1, 4))
    assert (k.count, k.rate, k.flag, k.sizes) == (4, 1.5, True, (1, 2, 3))
    assert type(k.count) is int and type(k.rate) is float and type(k.flag) is bool


def test_cross_parameter_rule_and_unknown_names():
    with pytest.raises(ConfigError, match="until"):
        Knobs(until=1.0)
    with pytest.raises(ConfigError, match="one of count, rate"):
        build_params(Knobs, {"cuont": 3})
    assert build_params(Knobs, Knobs(count=5), {"flag": True}) == Knobs(count=5, flag=True)


@pytest.mark.parametrize(
    "name, text, value",
    [
        ("rate", "1e3", 1000.0),
        ("count", "010", 10),
        ("count", "1_000", ConfigError),
        ("flag", "true", True),
        ("flag", "False", False),
        ("until", "none", None),
        ("until", "7", 7.0),
        ("sizes", "[3, 4]", (3, 4)),
        (
            "faults",
            "[{at: 1, kind: crash, until: 2, nodes: [n1]}]",
            (Fault(1, "crash", 2, ("n1",)),),
        ),
    ],
)
def test_text_is_parsed_by_the_declared_type(name, text, value):
    if value is ConfigError:  # out of range after parsing
        with pytest.raises(ConfigError):
            parse_text(Knobs, name, text)
    else:
        assert parse_text(Knobs, name, text) == value


@pytest.mark.parametrize(
    "name, text",
    [
        ("rate", "1:30"),
        ("count", "0x10"),
        ("count", "1.0"),
        ("flag", "yes"),
        ("rate", "nan"),
        ("rate", "inf"),
        ("mode", "z"),
        ("faults", "5"),
        ("sizes", "["),
    ],
)
def test_text_that_is_not_of_the_declared_type_is_refused(name, text):
    with pytest.raises(ConfigError) as err:
        parse_text(Knobs, name, text)
    assert err.value.parameter == name


def test_describe_gives_one_row_per_parameter_with_range_and_unit():
    rows = {r["name"]: r for r in describe(Knobs)}
    assert rows["rate"]["accepted"] == "> 0" and rows["rate"]["unit"] == "1/s"
    assert rows["count"]["accepted"] == "in [1, 100]"
    assert rows["until"]["type"] == "float or None" and rows["mode"]["accepted"] == "a / b"


def test_same_as_reuses_a_declaration_with_another_default():
    @dataclass(frozen=True)
    class Lesson(Params):
        RATE: float = same_as(Knobs, "rate", 5.0)

    spec = specs(Lesson)["RATE"]
    assert (spec.default, spec.gt, spec.unit, spec.doc) == (5.0, 0, "1/s", "per second")
    with pytest.raises(ConfigError):
        Lesson(RATE=-1.0)


def test_sliders_take_their_range_from_the_declaration():
    s = slider(Knobs, "rate", value=3.0)
    assert (s.max, s.value) == (10, 3.0) and s.min > 0
    assert slider(Knobs, "count").max == 100
    assert slider(Knobs, "mode").options == ("a", "b")
    with pytest.raises(ConfigError):
        slider(Knobs, "rate", value=-1.0)


def test_every_lesson_declares_its_parameters_cell():
    import json
    from pathlib import Path

    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    for path in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")):
        if path.stem not in LESSONS:
            continue  # lessons still without declarations are listed by the next assertion
        cells = json.loads(path.read_text())["cells"]
        tagged = [i for i, c in enumerate(cells) if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1, path.name
        namespace: dict = {}
        exec("".join(cells[tagged[0]]["source"]), namespace)
        check_parameters(path.stem, namespace)  # the stored defaults are valid
        after = "".join(cells[tagged[0] + 1]["source"])
        assert f'check_parameters("{path.stem}", globals())' in after, path.name
        knobs = {k for k in namespace if k.isupper()}
        assert knobs == set(specs(LESSONS[path.stem])), path.name


def test_a_bad_notebook_value_is_refused_with_the_knob_named():
    with pytest.raises(ConfigError, match="NODES"):
        check_parameters(
            "00_tour",
            dict(
                SEED=1,
                NODES=3,
                RATE=50.0,
                DURATION=10.0,
                LATENCY_MS=5.0,
                PARTITION=(3.0, 6.0),
                SWEEP_LOSSES=[0.0],
                SWEEP_SEEDS=1,
            ),
        )
    with pytest.raises(ConfigError, match="SWEEP_SEEDS"):
        check_parameters("00_tour", dict(SEED=1))
