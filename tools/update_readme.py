"""Rewrite the generated parts of README.md from the code: the scenario parameter tables.

Usage: ``.venv/bin/python tools/update_readme.py`` (``make readme``). A test fails when the
README and the declarations disagree, so a changed parameter cannot leave stale docs behind.
"""

from __future__ import annotations

from pathlib import Path

from labsim.cli import parameter_tables

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- parameters:start -->", "<!-- parameters:end -->"


def main() -> None:
    text = README.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    body = parameter_tables(markdown=True)
    README.write_text(f"{head}{START}\n{body}\n{END}{tail}")
    print(f"README.md: parameter tables of {body.count('#### ')} scenarios written")


if __name__ == "__main__":
    main()
