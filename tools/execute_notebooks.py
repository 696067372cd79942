"""Re-execute lesson notebooks in place so their stored outputs match the code.

Usage: ``.venv/bin/python tools/execute_notebooks.py [notebooks/01_x.ipynb ...]`` (default: all).

Runs each notebook top to bottom in ``notebooks/`` with ``LABSIM_PROGRESS=0`` (no progress
bars in stored outputs), drops widget state from the metadata (strict nbval and the
before-stop check want none) and prints the run time of each notebook.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
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
    paths = [Path(a).resolve() for a in argv] or sorted(NOTEBOOKS.glob("*.ipynb")) + sorted(
        (NOTEBOOKS / "solutions").glob("*.ipynb")
    )
    for path in paths:
        print(f"{path.relative_to(ROOT)}: {execute(path):.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
