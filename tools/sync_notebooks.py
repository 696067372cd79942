"""Keep each lesson notebook in step with its paired jupytext source.

Usage: ``.venv/bin/python tools/sync_notebooks.py [--check] [notebooks/01_x.py ...]``
(default: every pair in ``notebooks/`` and ``notebooks/solutions/``; ``make sync`` runs
it).

Each lesson is two files: ``notebooks/NN_name.py``, the source humans edit (jupytext
``py:percent``), and ``notebooks/NN_name.ipynb``, the same cells with their stored outputs.
JupyterLab saves both (``notebooks/jupytext.toml`` pairs them). Syncing does what jupytext's
contents manager does when JupyterLab opens and saves a notebook: the cells come from the
``.py``, the outputs from the ``.ipynb`` (matched to the cells by jupytext: an edited cell keeps
its old outputs, a new one has none); both files are written in jupytext's own layout. The
outputs are those of the last run until ``tools/execute_notebooks.py`` re-executes them
(strict nbval fails on a stale one).

If the ``.ipynb`` is newer than its ``.py`` and their cells differ, the notebook was edited
without the pairing (another editor, a merge): nothing is overwritten and the difference is
printed. Keep the notebook's version with ``.venv/bin/jupytext --sync notebooks/NN.ipynb``
(jupytext takes the newer file), or the source's by saving the ``.py`` again.

``--check`` writes nothing and exits non-zero when a pair disagrees
(``tests/test_notebook_pairing.py`` runs the same comparison).
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
FORMATS = "ipynb,py:percent"
TEXT_FORMAT = "py:percent"
#: What jupytext keeps in a paired notebook's metadata: the pairing, and no YAML header in the
#: ``.py`` (kernel and pairing come from the notebook and ``notebooks/jupytext.toml``). Nothing
#: here depends on the machine or the jupytext version.
JUPYTEXT_METADATA = {"formats": FORMATS, "notebook_metadata_filter": "-all"}
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
#: Cell metadata that is run or layout state, not content: written by the kernel client
#: (``execution``), by the notebook UI, or by jupytext to reproduce blank lines.
NOT_CONTENT = {
    "execution",
    "ExecuteTime",
    "trusted",
    "collapsed",
    "scrolled",
    "autoscroll",
    "lines_to_next_cell",
    "lines_to_end_of_cell_marker",
    "cell_marker",
}
#: A .ipynb newer than its .py by more than this (seconds) is taken as edited on its own
#: (jupytext's contents manager uses the same margin).
MARGIN = 1.0


class PairConflict(Exception):
    """The notebook was changed after its source, and their cells differ."""


def paired_paths(paths: list[str] | None = None) -> list[tuple[Path, Path]]:
    """The ``(source, notebook)`` pairs named by ``paths`` (either file of a pair), or all."""
    if paths:
        stems = {Path(p).resolve().with_suffix("") for p in paths}
    else:
        stems = {
            p.with_suffix("")
            for folder in (NOTEBOOKS, NOTEBOOKS / "solutions")
            for pattern in ("*.py", "*.ipynb")
            for p in folder.glob(pattern)
        }
    return [(s.with_suffix(".py"), s.with_suffix(".ipynb")) for s in sorted(stems)]


def content(notebook: nbformat.NotebookNode) -> list[tuple[str, str, dict]]:
    """What a pair must agree on: each cell's type, source and content metadata (tags,
    ``jupyter.source_hidden``, ...), in order."""
    return [
        (
            cell.cell_type,
            cell.source,
            {k: v for k, v in cell.metadata.items() if k not in NOT_CONTENT},
        )
        for cell in notebook.cells
    ]


def _render(cells: list[tuple[str, str, dict]]) -> list[str]:
    lines = []
    for n, (cell_type, source, metadata) in enumerate(cells):
        meta = f" {json.dumps(metadata, sort_keys=True)}" if metadata else ""
        lines.append(f"--- cell {n} [{cell_type}]{meta}")
        lines.extend(source.splitlines())
    return lines


def differences(source: Path, notebook: Path) -> list[str]:
    """How ``notebook``'s cells differ from those jupytext reads from ``source`` (a unified
    diff, empty when they agree)."""
    if not source.exists() or not notebook.exists():
        missing = source if not source.exists() else notebook
        return [f"{missing.name} is missing"]
    from_source = content(jupytext.read(source, fmt=TEXT_FORMAT))
    from_notebook = content(nbformat.read(notebook, as_version=4))
    if from_source == from_notebook:
        return []
    return list(
        difflib.unified_diff(
            _render(from_notebook),
            _render(from_source),
            fromfile=notebook.name,
            tofile=source.name,
            lineterm="",
            n=2,
        )
    )


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def sync(source: Path, notebook: Path | None = None) -> str:
    """Bring ``notebook`` (default: ``source`` with ``.ipynb``) in step with ``source``.

    Returns ``"unchanged"``, ``"updated"`` or ``"created"``; raises :class:`PairConflict`
    instead of overwriting a notebook edited after its source.
    """
    notebook = notebook or source.with_suffix(".ipynb")
    if not source.exists():
        raise FileNotFoundError(
            f"{source.name} is missing: create it from the notebook with "
            f"`.venv/bin/jupytext --set-formats {FORMATS} {notebook}`"
        )
    cells = jupytext.read(source, fmt=TEXT_FORMAT)
    for cell in cells.cells:
        for key in NOT_CONTENT:
            cell.metadata.pop(key, None)
    if notebook.exists():
        diff = differences(source, notebook)
        if diff and notebook.stat().st_mtime > source.stat().st_mtime + MARGIN:
            raise PairConflict(
                f"{notebook.name} was changed after {source.name} and their cells differ; "
                "nothing written. Keep the notebook's cells with "
                f"`.venv/bin/jupytext --sync {notebook}`, or the source's by saving "
                f"{source.name} again (`touch {source}`).\n" + "\n".join(diff)
            )
        stored = nbformat.read(notebook, as_version=4)
        combined = combine_inputs_with_outputs(cells, stored, fmt=TEXT_FORMAT)
        state = "updated"
    else:
        combined = cells
        combined.metadata = nbformat.from_dict({"kernelspec": dict(KERNELSPEC)})
        state = "created"
    combined.metadata["jupytext"] = dict(JUPYTEXT_METADATA)
    for cell in combined.cells:  # jupytext's layout hints never reach the .ipynb
        cell.metadata.pop("lines_to_next_cell", None)
    text = nbformat.writes(combined)
    wrote_notebook = _write_if_changed(notebook, text if text.endswith("\n") else text + "\n")
    wrote_source = _write_if_changed(source, jupytext.writes(combined, fmt=TEXT_FORMAT))
    if wrote_notebook and not wrote_source:
        # The source stays the newer file of the pair, as jupytext's contents manager wants.
        os.utime(source)
    if not (wrote_notebook or wrote_source):
        return "unchanged"
    return state


def main(argv: list[str]) -> int:
    check = "--check" in argv
    pairs = paired_paths([a for a in argv if a != "--check"])
    failed = False
    for source, notebook in pairs:
        name = source.with_suffix("")
        if name.is_relative_to(ROOT):
            name = name.relative_to(ROOT)
        if check:
            diff = differences(source, notebook)
            if diff:
                failed = True
                print(f"{name}: .py and .ipynb disagree (run `make sync`)")
                print("\n".join(diff))
            continue
        try:
            print(f"{name}: {sync(source, notebook)}")
        except (PairConflict, FileNotFoundError) as problem:
            failed = True
            print(f"{name}: {problem}", file=sys.stderr)
    if check and not failed:
        print(f"{len(pairs)} notebooks agree with their sources")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
