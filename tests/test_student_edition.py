"""The student edition (tools/student_edition.py, ``make student``): no solution left, every
exercise's checking cell kept, and the notebooks still run top to bottom."""

import importlib.util
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("student_edition", ROOT / "tools/student_edition.py")
student_edition = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(student_edition)

LESSONS = student_edition.lessons()


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    dest = tmp_path_factory.mktemp("student")
    student_edition.build(dest)
    return dest


def _solutions(notebook):
    return [c for c in notebook.cells if student_edition.is_solution(c)]


def _check_cells(notebook):
    """The cells that call an exercise's checking function (``print(check_...(...))``)."""
    return [
        c
        for c in notebook.cells
        if c.cell_type == "code"
        and "print(check_" in c.source
        and not student_edition.is_solution(c)
    ]


def test_solutions_are_found_by_metadata():
    hidden = nbformat.from_dict(
        {"cell_type": "code", "source": "x", "metadata": {"jupyter": {"source_hidden": True}}}
    )
    tagged = nbformat.from_dict(
        {"cell_type": "markdown", "source": "x", "metadata": {"tags": ["solution"]}}
    )
    plain = nbformat.from_dict(
        {"cell_type": "code", "source": "def solution(): ...", "metadata": {}}
    )
    assert student_edition.is_solution(hidden) and student_edition.is_solution(tagged)
    assert not student_edition.is_solution(plain)
    # Every lesson with exercises has solutions to remove.
    originals = {p.name: nbformat.read(p, as_version=4) for p in LESSONS}
    assert sum(len(_solutions(nb)) for nb in originals.values()) >= 20


def test_edition_layout(edition):
    notebooks = edition / "notebooks"
    assert sorted(p.name for p in notebooks.glob("*.ipynb")) == [p.name for p in LESSONS]
    assert (notebooks / "jupytext.toml").read_text() == (
        ROOT / "notebooks" / "jupytext.toml"
    ).read_text()
    assert not (notebooks / "solutions").exists()
    assert not list(edition.rglob("solutions"))
    assert (edition / "data" / "conformance").is_dir()


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_no_solution_left_and_every_check_kept(edition, lesson):
    original = nbformat.read(lesson, as_version=4)
    student = nbformat.read(edition / "notebooks" / lesson.name, as_version=4)
    paired = jupytext.read(edition / "notebooks" / lesson.with_suffix(".py").name)
    removed = _solutions(original)
    for notebook in (student, paired):
        assert not _solutions(notebook)
        sources = [c.source for c in notebook.cells]
        for cell in removed:
            assert cell.source not in sources
        # Every other cell is kept, in order, unchanged.
        assert sources == [c.source for c in original.cells if not student_edition.is_solution(c)]
        assert [c.source for c in _check_cells(notebook)] == [
            c.source for c in _check_cells(original)
        ]
    # The .py is the newer file of the pair, so jupytext pairing reads the student cells.
    student_py = edition / "notebooks" / lesson.with_suffix(".py").name
    assert student_py.stat().st_mtime >= (edition / "notebooks" / lesson.name).stat().st_mtime


@pytest.mark.parametrize("name", ["00_tour", "06_event_sourcing"])
def test_student_notebooks_run_and_checks_say_not_yet(edition, name, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("LABSIM_PROGRESS", "0")
    path = edition / "notebooks" / f"{name}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()  # raises CellExecutionError if a cell fails
    checks = _check_cells(notebook)
    assert len(checks) >= 2
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "Not yet" in text, (cell.source, text)
