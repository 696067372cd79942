"""The ``labsim`` command line: list, run and sweep scenarios.

Examples::

    labsim list
    labsim run delivery -p semantics=at-most-once -p messages=300 --seed 4 --out run.csv
    labsim run data/scenarios/black-friday.yaml
    labsim sweep groups --grid consumers=1,3,6 --grid partitions=3,6 --seeds 1-5 --out sweep.csv

``run`` prints the summary and, with ``--out``, writes it as a one-row CSV (parameters, seed,
figures). ``sweep`` runs every combination with every seed (with a progress bar) and writes one
row per run. Unknown scenarios or parameters exit with status 2 and a message listing what
exists.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from labsim.errors import ConfigError
from labsim.scenarios import SCENARIOS, get
from labsim.sweep import sweep

__all__ = ["main"]


class UsageError(Exception):
    """A command-line mistake: printed without a traceback, exit status 2."""


def _value(text: str) -> Any:
    # YAML scalars: 3 -> int, 0.5 -> float, true -> bool, null -> None, else the string.
    return yaml.safe_load(text) if text.strip() else text


def _pairs(items: Sequence[str], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} {item!r}: expected key=value")
        out[key.strip()] = value
    return out


def _check_params(name: str, params: dict[str, Any]) -> None:
    known = get(name).defaults()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise UsageError(
            f"scenario {name!r} has no parameter {unknown[0]!r}; its parameters: {', '.join(known)}"
        )


def _seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        first, dash, last = part.partition("-")
        try:
            if dash:
                seeds.extend(range(int(first), int(last) + 1))
            else:
                seeds.append(int(first))
        except ValueError:
            raise UsageError(
                f"--seeds {text!r}: expected numbers and ranges like 1-10,20"
            ) from None
    if not seeds:
        raise UsageError(f"--seeds {text!r}: no seed")
    return seeds


def _load_named(path: Path) -> tuple[str, dict[str, Any], int | None]:
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(spec, dict) or "scenario" not in spec:
        raise UsageError(
            f"{path}: expected a mapping with 'scenario', optional 'params' and 'seed'"
        )
    return str(spec["scenario"]), dict(spec.get("params") or {}), spec.get("seed")


def _run_scenario(name: str, params: dict[str, Any], seed: int) -> pd.DataFrame:
    info = get(name)
    result = info.load().run(params, seed)
    row = {**params, "seed": seed, **result.summary}
    return pd.DataFrame([row])


def cmd_list(args: argparse.Namespace) -> int:
    width = max(len(n) for n in SCENARIOS)
    for name, info in SCENARIOS.items():
        print(f"{name:<{width}}  {info.description}")
        if args.verbose:
            for key, value in info.defaults().items():
                print(f"{'':<{width}}    {key} = {value!r}")
    named = sorted(Path("data/scenarios").glob("*.yaml"))
    if named:
        print("\nnamed parameter sets (labsim run FILE):")
        for path in named:
            print(f"  {path}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    target = args.scenario
    seed = args.seed
    if target.endswith((".yaml", ".yml")):
        path = Path(target)
        if not path.exists():
            raise UsageError(f"{path}: no such file")
        name, params, file_seed = _load_named(path)
        if seed is None and file_seed is not None:
            seed = int(file_seed)
    else:
        name, params = target, {}
    get(name)
    params.update({k: _value(v) for k, v in _pairs(args.param, "-p").items()})
    _check_params(name, params)
    frame = _run_scenario(name, params, seed if seed is not None else 0)
    print(frame.T.to_string(header=False))
    if args.out:
        frame.to_csv(args.out, index=False)
        print(f"\nwrote {args.out}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    name = args.scenario
    info = get(name)
    grid = {
        k: [_value(v) for v in values.split(",")]
        for k, values in _pairs(args.grid, "--grid").items()
    }
    fixed = {k: _value(v) for k, v in _pairs(args.param, "-p").items()}
    _check_params(name, {**grid, **fixed})
    full_grid = {**{k: [v] for k, v in fixed.items()}, **grid}
    frame = sweep(
        info.load().figures,
        full_grid,
        _seeds(args.seeds),
        progress=not args.quiet,
        description=name,
    )
    if args.out:
        frame.to_csv(args.out, index=False)
        print(f"wrote {len(frame)} rows to {args.out}")
    else:
        print(frame.to_string(index=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labsim", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="list the scenarios")
    p_list.add_argument("-v", "--verbose", action="store_true", help="show default parameters")
    p_list.set_defaults(func=cmd_list)
    p_run = sub.add_parser("run", help="run one scenario (or a named parameter file)")
    p_run.add_argument("scenario", help="scenario name or data/scenarios/NAME.yaml")
    p_run.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE")
    p_run.add_argument("--seed", type=int, default=None)
    p_run.add_argument("--out", help="write the summary row to this CSV file")
    p_run.set_defaults(func=cmd_run)
    p_sweep = sub.add_parser("sweep", help="run a grid of parameters x seeds")
    p_sweep.add_argument("scenario")
    p_sweep.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...")
    p_sweep.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE")
    p_sweep.add_argument("--seeds", default="0", help="e.g. 1-10 or 1,2,5")
    p_sweep.add_argument("--out", help="write the rows to this CSV file")
    p_sweep.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p_sweep.set_defaults(func=cmd_sweep)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``labsim`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, ConfigError) as exc:
        print(f"labsim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
