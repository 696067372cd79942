"""Build a lesson notebook from its percent-format source in ``tools/notebook_sources/``.

Usage: ``.venv/bin/python tools/percent_to_notebook.py tools/notebook_sources/01_x.py``
(writes ``notebooks/01_x.ipynb`` without outputs; then run ``tools/execute_notebooks.py``).

Cell markers: ``# %%`` starts a code cell, ``# %% [markdown]`` a markdown cell (lines written
as ``# text``), ``tags=["parameters"]`` tags the cell, ``hidden`` collapses its source (used
for solutions).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def build(source: Path) -> Path:
    text = source.read_text()
    parts = re.split(r"^# %%(.*)$", text, flags=re.M)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for header, body in zip(parts[1::2], parts[2::2], strict=True):
        body = body.strip("\n")
        if "[markdown]" in header:
            lines = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in body.splitlines()]
            cell = nbformat.v4.new_markdown_cell("\n".join(lines))
        else:
            cell = nbformat.v4.new_code_cell(body)
        tags = re.search(r"tags=\[(.*?)\]", header)
        if tags:
            cell.metadata["tags"] = [t.strip().strip("\"'") for t in tags.group(1).split(",")]
        if "hidden" in header:
            cell.metadata["jupyter"] = {"source_hidden": True}
        nb.cells.append(cell)
    target = ROOT / "notebooks" / f"{source.stem}.ipynb"
    nbformat.write(nb, target)
    return target


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(build(Path(arg)).relative_to(ROOT))
