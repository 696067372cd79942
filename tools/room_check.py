"""Check a workshop machine before the day: ``make check-room``.

Runs with the machine's own ``python3`` (only the standard library), so it can report a
missing or broken environment instead of failing with it. Each check prints one line,
``ok`` or ``FAIL`` with what was found, and for a failure what to do about it, in plain words:

1. Python version (labsim needs 3.10 or newer);
2. the environment installed (``.venv`` with labsim and the lab's libraries importable);
3. JupyterLab starting (on a free local port, until it answers, then stopped);
4. a notebook executing (the tour, in a temporary folder, top to bottom);
5. plots rendering (a labelled figure in the lab style saved as PNG, the exercise marks drawn
   by a font rather than as empty boxes);
6. free disk (for outputs, caches and a handout export).

Exit status 0 when every check passes, 1 otherwise. ``--quick`` skips the two slow checks
(JupyterLab and the notebook), for a first look.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lab_server import answers, free_port, lab_command, stop

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
MIN_PYTHON = (3, 10)
#: Outputs, caches and one export of the handouts fit comfortably in this.
MIN_FREE_DISK_GB = 1.0
#: The libraries a lesson imports; a missing one stops the first cell of some lesson.
LAB_IMPORTS = ("labsim", "simpy", "pandas", "matplotlib", "networkx", "ipywidgets", "jupyterlab")


@dataclass(frozen=True)
class Outcome:
    """One check's result: what was found and, when it failed, what to do."""

    name: str
    ok: bool
    found: str
    fix: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        text = f"{mark}  {self.name}: {self.found}"
        if not self.ok and self.fix:
            text += f"\n      what to do: {self.fix}"
        return text


def check_python(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> Outcome:
    """The interpreter ``make`` uses to build ``.venv`` is new enough."""
    shown = ".".join(map(str, version))
    if tuple(version[:2]) >= MIN_PYTHON:
        return Outcome("Python", True, f"{shown} (3.10 or newer needed)")
    return Outcome(
        "Python",
        False,
        f"{shown} is too old (3.10 or newer needed)",
        "install Python 3.10+ (python.org, your package manager, or conda) and run "
        "`make lab PYTHON=python3.11` so make uses it",
    )


def check_disk(path: Path = ROOT, minimum_gb: float = MIN_FREE_DISK_GB) -> Outcome:
    """Enough free disk for outputs, caches and an export of the handouts."""
    free_gb = shutil.disk_usage(path).free / 1e9
    found = f"{free_gb:.1f} GB free ({minimum_gb:.1f} GB needed)"
    if free_gb >= minimum_gb:
        return Outcome("free disk", True, found)
    return Outcome(
        "free disk", False, found, "free some space (empty the trash, remove old downloads)"
    )


def _run(python: Path, code: str, timeout: float, cwd: Path = ROOT) -> tuple[bool, str]:
    # MPLBACKEND stays as the user has it: set to Agg, a notebook would show no figures.
    env = {**os.environ, "LABSIM_PROGRESS": "0"}
    try:
        done = subprocess.run(
            [str(python), "-c", code],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return False, f"no answer within {timeout:.0f} s"
    except OSError as error:
        return False, str(error)
    if done.returncode == 0:
        return True, (done.stdout.strip().splitlines() or [""])[-1]
    return False, done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}"


def check_environment(python: Path = VENV_PYTHON) -> Outcome:
    """``.venv`` exists and every library a lesson imports loads from it."""
    if not python.exists():
        return Outcome(
            "environment",
            False,
            f"{python.relative_to(ROOT) if python.is_relative_to(ROOT) else python} is missing",
            "run `make install` (or `make lab`) once with internet access, or "
            "`pip install --no-index --find-links wheelhouse -e '.[lab]'` from a wheelhouse",
        )
    code = (
        "import importlib\n"
        f"for name in {LAB_IMPORTS!r}: importlib.import_module(name)\n"
        "import labsim; print('labsim', labsim.__version__)"
    )
    ok, text = _run(python, code, timeout=120)
    if ok:
        return Outcome("environment", True, f"{text}, {', '.join(LAB_IMPORTS[1:])} import")
    last = text.strip().splitlines()[-1] if text.strip() else "import failed"
    return Outcome(
        "environment",
        False,
        last,
        "run `make install` again; if it keeps failing, delete .venv and run `make install`",
    )


def check_jupyterlab(python: Path = VENV_PYTHON, timeout: float = 90) -> Outcome:
    """JupyterLab starts with the room settings and answers on a local port."""
    port, token = free_port(), secrets.token_hex(8)
    command = lab_command(python, port, token, ROOT / "notebooks")
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "JUPYTERLAB_SETTINGS_DIR": str(Path(tmp) / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(Path(tmp) / "workspaces"),
        }
        log_path = Path(tmp) / "jupyter.log"
        with log_path.open("w") as log:
            try:
                server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
            except OSError as error:
                return Outcome("JupyterLab", False, str(error), "run `make install`")
            start = time.monotonic()
            try:
                url = f"http://127.0.0.1:{port}/lab?token={token}"
                if answers(url, start + timeout, server, pause=1):
                    seconds = time.monotonic() - start
                    return Outcome("JupyterLab", True, f"started and answered in {seconds:.0f} s")
            finally:
                stop(server)
        tail = log_path.read_text().strip().splitlines()[-1:] or ["no output"]
    return Outcome(
        "JupyterLab",
        False,
        f"did not answer within {timeout:.0f} s ({tail[0]})",
        "run `make install`; if a firewall blocks local ports, allow 127.0.0.1",
    )


def check_notebook(python: Path = VENV_PYTHON, notebook: str = "00_tour") -> Outcome:
    """The tour runs top to bottom in a fresh kernel (in a copy, the lesson is not touched)."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(ROOT / "notebooks" / f"{notebook}.ipynb", Path(tmp) / f"{notebook}.ipynb")
        code = (
            "import time, nbformat\n"
            "from nbclient import NotebookClient\n"
            f"nb = nbformat.read({notebook!r} + '.ipynb', as_version=4)\n"
            "start = time.perf_counter()\n"
            "NotebookClient(nb, timeout=300, kernel_name='python3').execute()\n"
            "images = sum('image/png' in o.get('data', {}) for c in nb.cells "
            "for o in c.get('outputs', []))\n"
            "assert images, 'the notebook ran but showed no figure (is MPLBACKEND set to Agg?)'\n"
            "print(f'ran in {time.perf_counter() - start:.0f} s, {images} figures shown')\n"
        )
        ok, text = _run(python, code, timeout=420, cwd=Path(tmp))
    if ok:
        return Outcome(f"notebook {notebook}", True, text)
    return Outcome(
        f"notebook {notebook}",
        False,
        text.strip().splitlines()[-1] if text.strip() else "failed",
        "the error above names the problem: `make install` repairs a half-installed "
        "environment; unset MPLBACKEND if it is set to Agg",
    )


PLOT_CODE = """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager
from labsim.plots import use_style
use_style()
fig, ax = plt.subplots()
ax.plot([0, 1, 2], [0, 1, 4], label="delivered")
ax.set(title="check", xlabel="time (s)", ylabel="messages")
ax.legend()
fig.savefig(PATH, dpi=60)
size = __import__("os").path.getsize(PATH)
font = font_manager.findfont(font_manager.FontProperties(family=matplotlib.rcParams["font.family"]))
missing = [c for c in "\\u2713\\u2717" if not font_manager.get_font(font).get_char_index(ord(c))]
assert size > 1000, f"the figure file has only {size} bytes"
assert not missing, "the figure font has no " + " ".join(missing)
print(f"a labelled figure saved ({size // 1000} kB); marks drawn by {font.rsplit('/', 1)[-1]}")
"""


def check_plots(python: Path = VENV_PYTHON) -> Outcome:
    """A labelled figure in the lab style renders to PNG, marks drawn by a real font."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "figure.png"
        ok, text = _run(python, f"PATH = {str(path)!r}\n" + PLOT_CODE, timeout=120)
    if ok:
        return Outcome("plots", True, text)
    return Outcome(
        "plots",
        False,
        text.strip().splitlines()[-1] if text.strip() else "failed",
        "run `make install`; on Linux without fonts, install fonts-dejavu-core",
    )


def run_checks(checks: list[Callable[[], Outcome]]) -> list[Outcome]:
    """Run ``checks`` in order, printing each line as it finishes."""
    outcomes = []
    for check in checks:
        outcome = check()
        print(outcome.line(), flush=True)
        outcomes.append(outcome)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip JupyterLab and the notebook")
    args = parser.parse_args(argv)
    print(f"checking this machine for a labsim workshop ({ROOT})")
    checks: list[Callable[[], Outcome]] = [check_python, check_disk, check_environment]
    if not args.quick:
        checks += [check_jupyterlab, check_notebook]
    checks.append(check_plots)
    outcomes = run_checks(checks[:3])
    if not outcomes[2].ok:
        print("the remaining checks need the environment: install it first (see above)")
        return 1
    outcomes += run_checks(checks[3:])
    failed = [o.name for o in outcomes if not o.ok]
    if failed:
        print(f"{len(failed)} of {len(outcomes)} checks failed: {', '.join(failed)}")
        return 1
    print(f"all {len(outcomes)} checks passed: this machine is ready for the workshop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
