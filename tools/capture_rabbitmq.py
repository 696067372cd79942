"""Run every conformance script on a real RabbitMQ and write its traces as data.

Usage (a server on 127.0.0.1:5672, guest/guest; ``tools/rabbitmq.sh start`` starts one)::

    .venv/bin/python tools/capture_rabbitmq.py               # writes data/conformance/...
    .venv/bin/python tools/capture_rabbitmq.py --check       # compare with the model only
    .venv/bin/python tools/capture_rabbitmq.py --repeat 3 quorum_delivery_limit

Each script runs ``--repeat`` times (default 2); a script whose server traces differ between
runs is reported and nothing is written (its waits are too tight, or it observes something
the server leaves unspecified). The file is named after the server's version:
``data/conformance/rabbitmq-3.10.8.json``. The model's comparison is printed either way.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labsim.conformance import SimDriver, all_scripts, capture_path, compare, run_script
from labsim.conformance.real import RealDriver
from labsim.conformance.trace import save_capture


def main(argv: list[str] | None = None) -> int:
    """Capture (or check) the server's traces; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scripts", nargs="*", help="only these scripts (default: all)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5672)
    parser.add_argument("--repeat", type=int, default=2, help="runs per script (must agree)")
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    parser.add_argument("--out", type=Path, help="output file (default: named by version)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every trace")
    args = parser.parse_args(argv)

    scripts = all_scripts()
    unknown = sorted(set(args.scripts) - set(scripts))
    if unknown:
        parser.error(f"unknown scripts {unknown}; known: {sorted(scripts)}")
    chosen = {n: s for n, s in scripts.items() if not args.scripts or n in args.scripts}

    real = RealDriver(args.host, args.port)
    server = real.server_version
    print(f"server: {server}; client: pika {version('pika')}")
    sim = SimDriver()
    traces: dict[str, tuple[str, list[str]]] = {}
    unstable = []
    try:
        for name, s in chosen.items():
            runs = [run_script(s, real) for _ in range(max(args.repeat, 1))]
            if any(r != runs[0] for r in runs[1:]):
                unstable.append(name)
                print(f"UNSTABLE {name}: {compare(name, runs[0], runs[1]).summary}")
                continue
            traces[name] = (s.doc, runs[0])
            result = compare(name, run_script(s, sim), runs[0])
            tag = "same" if result.equal else "DIFF"
            known = f"  [known: {s.known_difference}]" if s.known_difference else ""
            print(f"{tag:4} {result.summary}{known}")
            if args.verbose:
                print("   " + "\n   ".join(runs[0]))
    finally:
        real.close_connection()
    if unstable:
        print(f"not written: unstable scripts {unstable}")
        return 1
    if not args.check:
        out = args.out or capture_path(server.split()[-1])
        save_capture(out, server, f"pika {version('pika')}", traces)
        print(f"wrote {len(traces)} traces to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
