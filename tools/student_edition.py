"""Write the student edition of the lessons: every solution removed.

Usage: ``.venv/bin/python tools/student_edition.py [DEST]`` (default ``build/student/``;
``make student`` runs it).

A cell is a solution when its metadata says so, never by its position:

- a code cell collapsed with ``jupyter.source_hidden: true`` (the lesson sources write it as
  ``# %% jupyter={"source_hidden": true}``), or
- any cell tagged ``solution`` (the markdown cells that explain a solution in prose).

Everything else stays as it is, stored outputs included, so each exercise keeps its own cell
and its checking call (which prints "✗ Not yet" until the learner's code is right).

The edition (``DEST/``):

- ``notebooks/NN_name.ipynb`` without the solution cells, and ``notebooks/NN_name.py``
  regenerated from it (jupytext ``py:percent``): the pair agrees, so JupyterLab's jupytext
  pairing (``notebooks/jupytext.toml``, copied) never brings a solution back from a stale
  source. The ``.py`` is written after the ``.ipynb`` so it is the newer file, as jupytext wants;
- ``data/`` (scenario files, captured traces);
- ``README.md``, a few lines saying what this is.

``notebooks/solutions/`` (the challenge reference solutions) is never copied.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
DEFAULT_DEST = ROOT / "build" / "student"
SOLUTION_TAG = "solution"

README = """\
# labsim — student edition

The lessons without their solutions: each exercise's checking cell prints "✗ Not yet" until
your code is right. Open the notebooks in JupyterLab (from the labsim repository,
`make lab`, or `jupyter lab notebooks/` here with labsim installed) and work through them in
order, starting with `00_tour.ipynb`.
"""


def is_solution(cell: nbformat.NotebookNode) -> bool:
    """A solution cell, by its metadata alone (see the module docstring)."""
    metadata = cell.get("metadata", {})
    if SOLUTION_TAG in metadata.get("tags", []):
        return True
    return cell.cell_type == "code" and metadata.get("jupyter", {}).get("source_hidden") is True


def strip(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``notebook`` without its solution cells."""
    student = nbformat.from_dict(notebook)
    student.cells = [cell for cell in student.cells if not is_solution(cell)]
    return student


def lessons(source: Path = NOTEBOOKS) -> list[Path]:
    """The lesson notebooks ``NN_name.ipynb`` in ``source`` (not ``solutions/``)."""
    return sorted(source.glob("[0-9][0-9]_*.ipynb"))


def build(dest: Path = DEFAULT_DEST, source: Path = NOTEBOOKS) -> list[Path]:
    """Write the student edition into ``dest`` (replacing it); return the notebooks written."""
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    out = dest / "notebooks"
    out.mkdir(parents=True)
    written = []
    for path in lessons(source):
        student = strip(nbformat.read(path, as_version=4))
        target = out / path.name
        nbformat.write(student, target)
        # The paired source, from the same cells, written second so that it is the newer file.
        jupytext.write(student, target.with_suffix(".py"), fmt="py:percent")
        written.append(target)
    shutil.copy2(source / "jupytext.toml", out / "jupytext.toml")
    data = source.parent / "data"
    if data.is_dir():
        shutil.copytree(data, dest / "data")
    (dest / "README.md").write_text(README, encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    dest = Path(args[0]) if args else DEFAULT_DEST
    written = build(dest)
    try:
        shown = dest.resolve().relative_to(ROOT)
    except ValueError:
        shown = dest
    print(f"student edition: {len(written)} notebooks without solutions in {shown}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
