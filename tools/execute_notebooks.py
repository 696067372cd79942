"""Re-execute lesson notebooks in place so their stored outputs match the code.

Usage: ``.venv/bin/python tools/execute_notebooks.py [notebooks/01_x.py ...]`` (default: all;
either file of a pair names it).

Each notebook is first synced with its paired source ``notebooks/NN_name.py`` (see
``tools/sync_notebooks.py``: the cells come from the ``.py``), then run top to bottom in
``notebooks/`` with ``LABSIM_PROGRESS=0`` (no progress bars in stored outputs). Widget state
is dropped from the metadata (strict nbval and the before-stop check want none), a cell that
writes to stderr stops the run, and the run time of each notebook is printed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_notebooks import KERNELSPEC, ROOT, PairConflict, paired_paths, sync


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    os.environ["LABSIM_PROGRESS"] = "0"
    start = time.perf_counter()
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    elapsed = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("name") == "stderr":
                    raise SystemExit(f"{path.name}: a cell wrote to stderr:\n{output.get('text')}")
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str]) -> None:
    for source, notebook in paired_paths(argv):
        try:
            sync(source, notebook)
        except (PairConflict, FileNotFoundError) as problem:
            raise SystemExit(f"{notebook.name}: {problem}") from None
        elapsed = execute(notebook)
        # The source stays the newer file of the pair, as jupytext's contents manager wants.
        os.utime(source)
        shown = notebook.relative_to(ROOT) if notebook.is_relative_to(ROOT) else notebook
        print(f"{shown}: {elapsed:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
