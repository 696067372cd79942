"""The ``labsim`` command line: list, run and sweep scenarios; grade challenges.

Examples::

    labsim list -v
    labsim run delivery -p semantics=at-most-once -p messages=300 --seed 4 --out run.csv
    labsim run data/scenarios/black-friday.yaml
    labsim run data/architectures/textbook.yaml
    labsim compare data/architectures/*.yaml teams/*.yaml --seeds 0-2 --plot teams.png
    labsim sweep groups --grid consumers=1,3,6 --grid partitions=3,6 --seeds 1-5 --out sweep.csv
    labsim challenge check idempotent-consumer my_consumer.py --seeds 20

``run`` prints the summary and, with ``--out``, writes it as a one-row CSV (parameters, seed,
figures). ``sweep`` runs every combination with every seed (with a progress bar) and writes one
row per run. Values are read by each parameter's declared type (``rate=1e3`` is 1000.0,
``nodes=010`` is 10). Every mistake exits with status 2 and one line saying what is accepted;
Ctrl-C exits with status 130.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

from labsim.errors import ConfigError
from labsim.params import describe, parse_text
from labsim.scenarios import SCENARIOS, Scenario, get
from labsim.scenarios.files import load_named_run, parse_seed
from labsim.sweep import MAX_RUNS, grid_points

__all__ = ["build_parser", "main", "parameter_tables"]


class UsageError(Exception):
    """A command-line mistake: printed without a traceback, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, like every other mistake (argparse would print the whole usage first).
        raise UsageError(f"{message} (see: {self.prog} --help)")


def _pairs(items: Sequence[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"{option} {item!r}: expected key=value")
        if key in out:
            raise UsageError(f"{option} {key}: given twice")
        out[key] = value
    return out


def _typed(scenario: Scenario, pairs: dict[str, str], option: str) -> dict[str, Any]:
    return {k: parse_text(scenario.Params, k, v, f"{option} {k}") for k, v in pairs.items()}


def _seed_ranges(text: str) -> list[range]:
    ranges: list[range] = []
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        try:
            low = parse_seed(first, "--seeds")
            high = parse_seed(last, "--seeds") if dash else low
        except ConfigError:
            raise UsageError(
                f"--seeds {text!r}: expected seeds >= 0 and ranges like 1-10,20"
            ) from None
        if high < low:
            raise UsageError(f"--seeds {text!r}: range {part} runs backwards")
        ranges.append(range(low, high + 1))
    return ranges


def _seeds(text: str, points: int) -> Iterable[int]:
    ranges = _seed_ranges(text)
    count = sum(len(r) for r in ranges)
    if count * points > MAX_RUNS:
        raise UsageError(
            f"--seeds {text!r}: {points} grid point(s) x {count} seeds = {count * points} runs; "
            f"at most {MAX_RUNS} per sweep"
        )
    return ranges[0] if len(ranges) == 1 else [s for r in ranges for s in r]


def _check_out(out: str | None) -> Path | None:
    # Checked before the run, so a long run is not thrown away for a typo in a path.
    if out is None:
        return None
    path = Path(out)
    if path.is_dir():
        raise UsageError(f"--out {out}: is a directory; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"--out {out}: folder {parent} does not exist")
    return path


def parameter_tables(markdown: bool = False) -> str:
    """Every scenario's parameters (name, type, default, accepted, unit, doc) as text."""
    blocks = []
    for name, scenario in SCENARIOS.items():
        frame = pd.DataFrame(describe(scenario.Params))
        if markdown:
            header = "| " + " | ".join(frame.columns) + " |"
            rule = "|" + "---|" * len(frame.columns)
            rows = [
                "| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |"
                for row in frame.itertuples(index=False)
            ]
            blocks.append("\n".join([f"#### `{name}`", "", header, rule, *rows]))
        else:
            blocks.append(f"{name}  {scenario.description}\n" + _aligned(frame))
    return "\n\n".join(blocks)


def _aligned(frame: pd.DataFrame) -> str:
    # Left-aligned columns read better than pandas' right-aligned text.
    cells = [list(frame.columns), *[[str(v) for v in row] for row in frame.itertuples(index=False)]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(frame.columns))]
    return "\n".join(
        "    " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


def cmd_list(args: argparse.Namespace) -> int:
    if args.markdown:
        print(parameter_tables(markdown=True))
        return 0
    if args.verbose:
        print(parameter_tables())
    else:
        width = max(len(n) for n in SCENARIOS)
        for name, scenario in SCENARIOS.items():
            print(f"{name:<{width}}  {scenario.description}")
    named = sorted(Path("data/scenarios").glob("*.yaml"))
    named += sorted(Path("data/architectures").glob("*.yaml"))
    if named:
        print("\nnamed parameter sets (labsim run FILE):")
        for path in named:
            print(f"  {path}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    target = args.scenario
    seed = parse_seed(args.seed, "--seed") if args.seed is not None else None
    if target.endswith((".yaml", ".yml")) or "/" in target:
        named = load_named_run(target)
        scenario, params = get(named.scenario), dict(named.params)
        if seed is None:
            seed = named.seed
    else:
        scenario, params = get(target), {}
    params.update(_typed(scenario, _pairs(args.param, "-p"), "-p"))
    out = _check_out(args.out)
    seed = 0 if seed is None else seed
    result = scenario.run(params, seed)
    frame = pd.DataFrame([{**params, "seed": seed, **result.summary}])
    print(frame.T.to_string(header=False))
    report = getattr(scenario, "report", None)
    if report is not None:
        print(f"\n{report(result)}")
    if out is not None:
        frame.to_csv(out, index=False)
        print(f"\nwrote {out}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from labsim.scenarios.pipeline import compare

    seeds = [s for r in _seed_ranges(args.seeds) for s in r]
    out = _check_out(args.out)
    plot = _check_out(args.plot)
    frame = compare.compare(args.files, seeds)
    print(frame.to_string(index=False))
    if out is not None:
        frame.to_csv(out, index=False)
        print(f"\nwrote {out}")
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        ax = compare.pareto_plot(frame, label="architecture", title="Teams' architectures")
        ax.figure.savefig(plot, dpi=120)
        print(f"wrote {plot}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    scenario = get(args.scenario)
    grid: dict[str, list[Any]] = {}
    for key, values in _pairs(args.grid, "--grid").items():
        if key in grid:
            raise UsageError(f"--grid {key}: given twice")
        grid[key] = [
            parse_text(scenario.Params, key, v, f"--grid {key}") for v in values.split(",")
        ]
    fixed = _typed(scenario, _pairs(args.param, "-p"), "-p")
    both = sorted(set(grid) & set(fixed))
    if both:
        raise UsageError(f"{both[0]}: given both as -p and as --grid")
    full_grid = {**{k: [v] for k, v in fixed.items()}, **grid}
    points = grid_points(full_grid)
    for point in points:  # every combination checked before the first run
        scenario.validate(point)
    seeds = _seeds(args.seeds, len(points))
    out = _check_out(args.out)
    frame = scenario.sweep(full_grid, seeds, progress=not args.quiet)
    if out is not None:
        frame.to_csv(out, index=False)
        print(f"wrote {len(frame)} rows to {out}")
    else:
        print(frame.to_string(index=False))
    return 0


def cmd_challenge_list(args: argparse.Namespace) -> int:
    from labsim.challenges import CHALLENGES

    width = max(len(n) for n in CHALLENGES)
    for name, ch in CHALLENGES.items():
        print(f"{name:<{width}}  {ch.lesson:<24}  {ch.goal}")
    return 0


def cmd_challenge_starter(args: argparse.Namespace) -> int:
    from labsim.challenges import starter

    print(starter(args.name), end="")
    return 0


def cmd_challenge_check(args: argparse.Namespace) -> int:
    from labsim.challenges import check, get
    from labsim.faults import FaultPlan

    get(args.name)
    if not Path(args.file).is_file():
        raise UsageError(f"{args.file}: no such file")
    seed = parse_seed(args.seed, "--seed") if args.seed is not None else None
    if args.seeds < 1:
        raise UsageError(f"--seeds {args.seeds}: expected at least 1")
    if args.messages is not None and args.messages < 1:
        raise UsageError(f"--messages {args.messages}: expected at least 1")
    plan = FaultPlan.load(args.plan) if args.plan is not None else None
    result = check(
        args.name,
        args.file,
        seeds=args.seeds,
        seed=seed,
        exhaustive=args.exhaustive,
        plan=plan,
        messages=args.messages,
        file=args.file,
    )
    print(result.text)
    if result.failure is not None and args.save_plan:
        result.failure.plan.save(args.save_plan)
        print(f"wrote {args.save_plan}")
    if result.failure is not None and args.draw:
        result.draw(args.draw)
        print(f"wrote {args.draw}")
    return 0 if result.passed else 1


def _challenge_parser(sub: Any) -> None:
    p_ch = sub.add_parser("challenge", help="the challenge ladder: write a component, get graded")
    ch_sub = p_ch.add_subparsers(dest="challenge_command", required=True, parser_class=_Parser)
    p_list = ch_sub.add_parser("list", help="one line per challenge: name, lesson, goal")
    p_list.set_defaults(func=cmd_challenge_list)
    p_start = ch_sub.add_parser("starter", help="print a starter file")
    p_start.add_argument("name")
    p_start.set_defaults(func=cmd_challenge_starter)
    p_check = ch_sub.add_parser("check", help="grade FILE.py under seeded chaos")
    p_check.add_argument("name")
    p_check.add_argument("file")
    p_check.add_argument("--seeds", type=int, default=20, help="chaos plans to try (default 20)")
    p_check.add_argument("--seed", default=None, help="first seed (default 0)")
    p_check.add_argument("--exhaustive", action="store_true", help="every crash point instead")
    p_check.add_argument("--plan", default=None, help="replay this fault plan (YAML)")
    p_check.add_argument("--messages", type=int, default=None, help="message count")
    p_check.add_argument("--save-plan", default="PLAN.yaml", help="where to write a shrunk plan")
    p_check.add_argument("--draw", default=None, help="save the space-time diagram (PNG)")
    p_check.set_defaults(func=cmd_challenge_check)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``labsim`` command."""
    parser = _Parser(prog="labsim", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p_list = sub.add_parser("list", help="list the scenarios")
    p_list.add_argument("-v", "--verbose", action="store_true", help="show every parameter")
    p_list.add_argument("--markdown", action="store_true", help="parameter tables as Markdown")
    p_list.set_defaults(func=cmd_list)
    p_run = sub.add_parser("run", help="run one scenario (or a named parameter file)")
    p_run.add_argument("scenario", help="scenario name or data/scenarios/NAME.yaml")
    p_run.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE")
    p_run.add_argument("--seed", default=None, help="seed of the run (default 0)")
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
    p_cmp = sub.add_parser(
        "compare", help="run architecture files under the same chaos and compare them"
    )
    p_cmp.add_argument("files", nargs="+", help="data/architectures/NAME.yaml files")
    p_cmp.add_argument("--seeds", default="0-2", help="e.g. 0-2 or 1,2,5 (default 0-2)")
    p_cmp.add_argument("--out", help="write the comparison to this CSV file")
    p_cmp.add_argument("--plot", help="draw cost against p99 latency to this PNG file")
    p_cmp.set_defaults(func=cmd_compare)
    _challenge_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``labsim`` console script; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except (UsageError, ConfigError) as exc:
        print(f"labsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("labsim: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except BrokenPipeError:
        # Output piped into a command that stopped reading (``| head``): end quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
