"""Named parameter sets: a scenario, its parameters and a seed in a small YAML file.

::

    # data/scenarios/black-friday.yaml
    scenario: groups
    seed: 11
    params:
      rate: 900.0
      partitions: 12

Every value is read by the **declared type** of its parameter, not by YAML's own guesses:
``nodes: 010`` is 10 (not 8), ``rate: 1e3`` is 1000.0, ``reorder: yes`` is an error (only
``true``/``false``), ``seed: 1.7`` is an error. Unknown keys, unknown parameters and bad
values are a :class:`~labsim.ConfigError` naming the file and the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from labsim.errors import ConfigError
from labsim.params import Spec, specs

__all__ = ["SEED", "NamedRun", "load_named_run", "parse_seed", "read_text_file"]

#: How a seed is written on the command line and in files.
SEED = Spec(
    name="seed",
    kind="int",
    default=0,
    doc="seed of the run: the same seed gives the same frames",
    ge=0,
    le=2**63 - 1,
)
_TOP_LEVEL = ("scenario", "seed", "params")


def parse_seed(text: str, context: str | None = None) -> int:
    """A seed from text (``"7"``), or :class:`ConfigError`."""
    return SEED.parse(text, context)


def read_text_file(path: str | Path, what: str = "file") -> str:
    """The UTF-8 text of ``path``, or a one-line :class:`ConfigError` saying what is wrong.

    Missing files, directories, unreadable, binary and non-UTF-8 files and empty files are
    each named as such.
    """
    p = Path(path)
    if not p.exists():
        raise ConfigError(what, str(p), "an existing file (no such file)")
    if p.is_dir():
        raise ConfigError(what, str(p), "a file, not a directory")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(what, str(p), f"a readable file ({exc.strerror})") from None
    if b"\x00" in data:
        raise ConfigError(what, str(p), "a text file (this one is binary)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(what, str(p), f"UTF-8 text (byte {exc.start} is not UTF-8)") from None
    if not text.strip():
        raise ConfigError(what, str(p), "a file with content (this one is empty)")
    return text


@dataclass(frozen=True)
class NamedRun:
    """A parsed parameter file: scenario name, parameters (typed) and seed (or ``None``)."""

    scenario: str
    params: dict[str, Any]
    seed: int | None
    source: str


def _where(source: str, node: yaml.Node) -> str:
    return f"{source}, line {node.start_mark.line + 1}"


def load_named_run(path: str | Path) -> NamedRun:
    """Read a parameter file; every mistake is a :class:`ConfigError` naming file and line."""
    from labsim.scenarios import get

    source = str(path)
    text = read_text_file(path, "scenario file")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError("scenario file", source, f"valid YAML ({problem}{line})") from None
    if not isinstance(root, yaml.MappingNode):
        where = _where(source, root) if root is not None else source
        raise ConfigError(
            "scenario file", source, f"a mapping with scenario, params and seed ({where})"
        )
    entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key, value in root.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        if name not in _TOP_LEVEL:
            raise ConfigError(
                "key", key.value, f"one of {', '.join(_TOP_LEVEL)} ({_where(source, key)})"
            )
        if name in entries:
            raise ConfigError("key", name, f"each key once ({_where(source, key)})")
        entries[name] = (key, value)
    if "scenario" not in entries:
        raise ConfigError("scenario", None, f"a scenario name ({source})")
    key, node = entries["scenario"]
    if not isinstance(node, yaml.ScalarNode):
        raise ConfigError("scenario", _value(node), f"a scenario name ({_where(source, node)})")
    try:
        scenario = get(node.value)
    except ConfigError as exc:
        raise ConfigError(
            "scenario", node.value, f"{exc.accepted} ({_where(source, node)})"
        ) from None
    seed = None
    if "seed" in entries:
        node = entries["seed"][1]
        if not isinstance(node, yaml.ScalarNode):
            raise ConfigError("seed", _value(node), f"{SEED.accepted} ({_where(source, node)})")
        seed = _parse(SEED, node, source)
    params: dict[str, Any] = {}
    if "params" in entries:
        node = entries["params"][1]
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            node = yaml.MappingNode("tag:yaml.org,2002:map", [])
        if not isinstance(node, yaml.MappingNode):
            raise ConfigError(
                "params", _value(node), f"a mapping of parameter: value ({_where(source, node)})"
            )
        table = specs(scenario.Params)
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else "?"
            if name not in table:
                raise ConfigError(
                    "parameter",
                    name,
                    f"one of {', '.join(table)} for {scenario.name} ({_where(source, key)})",
                )
            if name in params:
                raise ConfigError(name, "twice", f"each parameter once ({_where(source, key)})")
            params[name] = _parse(table[name], value, source)
    try:
        scenario.params(params)
    except ConfigError as exc:
        raise ConfigError(exc.parameter, exc.value, f"{exc.accepted} ({source})") from None
    return NamedRun(scenario.name, params, seed, source)


def _value(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))


def _parse(spec: Spec, node: yaml.Node, source: str) -> Any:
    try:
        if isinstance(node, yaml.ScalarNode):
            if node.style in ("'", '"') and spec.kind != "str":
                # A quoted number is text, not a number: say so rather than guess.
                raise ConfigError(spec.name, node.value, spec.accepted)
            return spec.parse(node.value)
        return spec.validate(_value(node))
    except ConfigError as exc:
        raise ConfigError(
            exc.parameter, exc.value, f"{exc.accepted} ({_where(source, node)})"
        ) from None
