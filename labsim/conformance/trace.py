"""Traces: running a script on a driver, comparing two traces, the captured-trace file.

A trace is the list of lines a :class:`~labsim.conformance.driver.Driver` recorded while a
script ran (operations and observations, see :mod:`labsim.conformance.driver`). Allowances for
what the server leaves unspecified are made *inside* the scripts (for instance
:meth:`~labsim.conformance.driver.Driver.take_unordered`), so two traces are compared line by
line, exactly.

:func:`side_by_side` puts the model's trace of a script next to the server's captured one, as a
table a lesson can print without a server.

The file ``data/conformance/rabbitmq-<version>.json`` holds the traces a real server produced
(written by ``tools/capture_rabbitmq.py``)::

    {"server": "RabbitMQ 3.10.8", "client": "pika 1.3.2",
     "scripts": {"direct_routing": {"doc": "...", "trace": ["exchange ex direct", ...]}}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from labsim.conformance.driver import Driver
    from labsim.conformance.scripts import Script

__all__ = [
    "CAPTURE_DIR",
    "SERVER_VERSION",
    "Comparison",
    "capture_path",
    "compare",
    "load_capture",
    "run_script",
    "save_capture",
    "side_by_side",
]

#: Where captured server traces are kept (relative to the repository root).
CAPTURE_DIR = Path(__file__).resolve().parents[2] / "data" / "conformance"

#: The RabbitMQ version whose captured traces the model is checked against.
SERVER_VERSION = "3.10.8"

_END = "(end of trace)"


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing a model trace with a server trace.

    Attributes:
        script: The script's name.
        equal: Whether the traces are identical.
        index: Index of the first differing line (``None`` when equal).
        model_event: The model's line there (``"(end of trace)"`` if the model's trace ended).
        server_event: The server's line there (likewise).
        before: The line both traces share just before the difference (``""`` if none).
    """

    script: str
    equal: bool
    index: int | None = None
    model_event: str | None = None
    server_event: str | None = None
    before: str = ""

    @property
    def summary(self) -> str:
        """One line: ``"script: same"`` or where the traces first differ."""
        if self.equal:
            return f"{self.script}: model and server agree"
        after = f" (after {self.before!r})" if self.before else ""
        return (
            f"{self.script}: first difference at event {self.index}{after}: "
            f"model {self.model_event!r}, server {self.server_event!r}"
        )


def compare(script: str, model: list[str], server: list[str]) -> Comparison:
    """Compare two traces line by line.

    Args:
        script: Name of the script (for the summary).
        model: The model's trace.
        server: The server's trace.

    Returns:
        A :class:`Comparison` naming the first differing event, if any.
    """
    for i in range(max(len(model), len(server))):
        m = model[i] if i < len(model) else _END
        s = server[i] if i < len(server) else _END
        if m != s:
            before = model[i - 1] if i > 0 else ""
            return Comparison(script, False, i, m, s, before)
    return Comparison(script, True)


def run_script(script: Script, driver: Driver) -> list[str]:
    """Run ``script`` on ``driver`` and return its trace."""
    driver.start(script.name)
    try:
        script.run(driver)
    finally:
        driver.finish()
    return list(driver.events)


def capture_path(version: str) -> Path:
    """The file holding the traces of RabbitMQ ``version`` (e.g. ``"3.10.8"``)."""
    return CAPTURE_DIR / f"rabbitmq-{version}.json"


def load_capture(path: str | Path) -> dict[str, Any]:
    """Read a captured-trace file (``{"server", "client", "scripts"}``)."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    for key in ("server", "client", "scripts"):
        if key not in data:
            raise ValueError(f"{path}: not a conformance capture (no {key!r} key)")
    return data


def save_capture(
    path: str | Path, server: str, client: str, traces: dict[str, tuple[str, list[str]]]
) -> None:
    """Write a captured-trace file.

    Args:
        path: Destination.
        server: ``"RabbitMQ 3.10.8"``.
        client: ``"pika 1.3.2"``.
        traces: script name -> (its one-line doc, its trace).
    """
    data = {
        "server": server,
        "client": client,
        "scripts": {
            name: {"doc": doc, "trace": trace} for name, (doc, trace) in sorted(traces.items())
        },
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, ensure_ascii=False)
        f.write("\n")


def side_by_side(script: str, version: str = SERVER_VERSION) -> pd.DataFrame:
    """The model's trace of ``script`` beside the trace a real RabbitMQ ``version`` captured.

    Runs the script on the model (:class:`~labsim.conformance.sim.SimDriver`) and reads the
    server's trace from ``data/conformance`` (no server needed).

    Args:
        script: A script's name (see :func:`~labsim.conformance.scripts.all_scripts`).
        version: The server version of the capture file.

    Returns:
        One row per event, indexed by event number (from 0, as :attr:`Comparison.index`):
        ``model`` and ``server`` (the two lines; ``"(end of trace)"`` past the end of the
        shorter trace) and ``same`` (whether they are equal). ``attrs`` holds ``script``,
        ``server`` (``"RabbitMQ 3.10.8"``) and ``summary`` (:attr:`Comparison.summary`).

    Raises:
        ConfigError: ``script`` is not a script, or the capture file has no trace of it.

    Example:
        >>> table = side_by_side("quorum_delivery_limit")
        >>> bool(table["same"].all()), table.loc[10, "server"]
        (True, 'c <- m1 rk=k redelivered x-delivery-count=1')
    """
    from labsim.conformance.scripts import all_scripts
    from labsim.conformance.sim import SimDriver
    from labsim.errors import ConfigError

    scripts = all_scripts()
    if script not in scripts:
        raise ConfigError("script", script, f"one of {sorted(scripts)}", "side_by_side")
    path = capture_path(version)
    captured = load_capture(path)
    if script not in captured["scripts"]:
        raise ConfigError("script", script, f"a script captured in {path.name}", "side_by_side")
    server = captured["scripts"][script]["trace"]
    model = run_script(scripts[script], SimDriver())
    n = max(len(model), len(server))
    rows = {
        "model": [model[i] if i < len(model) else _END for i in range(n)],
        "server": [server[i] if i < len(server) else _END for i in range(n)],
    }
    table = pd.DataFrame(rows, index=pd.RangeIndex(n, name="event"))
    table["same"] = table["model"] == table["server"]
    table.attrs.update(
        script=script,
        server=captured["server"],
        summary=compare(script, model, server).summary,
    )
    return table
