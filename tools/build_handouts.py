"""Export the executed notebooks to static HTML handouts in ``build/html/`` with an index.

Used by ``make html``. The notebooks are exported as committed (with their outputs); nothing
is re-executed.
"""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path

from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]


def title(path: Path) -> str:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def main() -> int:
    out = ROOT / "build" / "html"
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    items = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        body, _ = exporter.from_filename(str(path))
        target = out / f"{path.stem}.html"
        target.write_text(body, encoding="utf-8")
        items.append((target.name, title(path)))
        print(f"{path.name} -> {target.relative_to(ROOT)}")
    links = "\n".join(
        f'    <li><a href="{html.escape(name)}">{html.escape(text)}</a></li>'
        for name, text in items
    )
    (out / "index.html").write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>labsim handouts</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:3em auto;line-height:1.5}}</style>
</head><body>
  <h1>labsim — lesson handouts</h1>
  <p>Each lesson as executed, with its plots and tables. The interactive version is in
  JupyterLab: <code>make lab</code>.</p>
  <ol>
{links}
  </ol>
</body></html>
""",
        encoding="utf-8",
    )
    print(f"index: {(out / 'index.html').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
