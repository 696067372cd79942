"""Nothing imports upward: the kernel knows no model, models know no scenario, and so on.

Layers, lowest first (a module may import its own layer and the ones below):

0. kernel: errors, dists, record, world, events, metrics, result, history, sweep
1. the network and what happens to it: network, transport, faults; params (declarations
   may hold faults)
2. models: kafka, amqp, workqueue, broker (contract names), eventsourcing, sagas, outbox,
   replication
3. readers of frames and judges of models: checks, plots, conformance, observability
4. scenarios
5. what learners and instructors call: exercises, lessons, cli, and the package itself
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "labsim"

LAYERS = {
    **dict.fromkeys(
        [
            "errors",
            "dists",
            "record",
            "world",
            "events",
            "metrics",
            "result",
            "history",
            "sweep",
            "claims",
        ],
        0,
    ),
    **dict.fromkeys(["network", "transport", "faults", "params"], 1),
    **dict.fromkeys(
        [
            "kafka",
            "amqp",
            "cloudqueue",
            "workqueue",
            "broker",
            "eventsourcing",
            "sagas",
            "outbox",
            "replication",
        ],
        2,
    ),
    **dict.fromkeys(["checks", "plots", "figure_check", "conformance", "observability"], 3),
    "scenarios": 4,
    **dict.fromkeys(["exercises", "lessons", "cli", "challenges", "__init__", "__main__"], 5),
}


def _room(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("labsim."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "labsim":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("labsim."))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def test_every_room_has_a_layer():
    rooms = {_room(p) for p in MODULES}
    assert rooms <= set(LAYERS), f"give these a layer: {sorted(rooms - set(LAYERS))}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_from_a_higher_layer(path):
    room = _room(path)
    mine = LAYERS[room]
    upward = sorted(
        f"{name} (layer {LAYERS[name]})"
        for name in _imports(path)
        if name in LAYERS and LAYERS[name] > mine and name != room
    )
    assert not upward, f"{room} (layer {mine}) imports {', '.join(upward)}"


def test_every_module_is_under_400_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in MODULES
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long, f"split these modules: {long}"
