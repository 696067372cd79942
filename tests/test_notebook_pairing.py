"""Each lesson notebook and its jupytext source (notebooks/NN_name.py) hold the same cells."""

import importlib.util
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("jupytext")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
_spec = importlib.util.spec_from_file_location("sync_notebooks", ROOT / "tools/sync_notebooks.py")
sync_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync_notebooks)

SOURCES = sorted(NOTEBOOKS.glob("*.py"))
IPYNBS = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_every_notebook_has_a_source_and_every_source_a_notebook():
    assert IPYNBS, "no notebooks found"
    sources = {p.stem for p in SOURCES}
    notebooks = {p.stem for p in IPYNBS}
    assert not notebooks - sources, f"notebooks without a .py source: {sorted(notebooks - sources)}"
    assert not sources - notebooks, f"sources without a notebook: {sorted(sources - notebooks)}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_holds_the_cells_of_its_source(source):
    diff = sync_notebooks.differences(source, source.with_suffix(".ipynb"))
    assert not diff, (
        f"{source.name} and its notebook disagree; run `make sync` and re-execute:\n"
        + "\n".join(diff)
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_source_is_in_jupytext_layout(source):
    """What JupyterLab (and ``make sync``) would write: saving the lesson changes nothing."""
    import jupytext

    notebook = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    assert source.read_text(encoding="utf-8") == jupytext.writes(notebook, fmt="py:percent"), (
        f"{source.name} is not in jupytext's layout: run `make sync`"
    )


@pytest.mark.parametrize("path", IPYNBS, ids=lambda p: p.stem)
def test_notebook_metadata_is_the_same_on_every_machine(path):
    metadata = json.loads(path.read_text())["metadata"]
    assert metadata["kernelspec"]["name"] == "python3"
    assert "widgets" not in metadata
    # The pairing only: no jupytext version, text representation or path.
    assert metadata["jupytext"] == sync_notebooks.JUPYTEXT_METADATA
    assert metadata["jupytext"]["formats"] == "ipynb,py:percent"


def test_folder_pairs_notebooks_with_percent_sources():
    config = (NOTEBOOKS / "jupytext.toml").read_text()
    assert 'formats = "ipynb,py:percent"' in config


def test_solutions_and_parameters_use_jupytext_cell_metadata():
    text = "".join(p.read_text(encoding="utf-8") for p in SOURCES)
    assert text.count('# %% tags=["parameters"]') == len(SOURCES)
    assert '# %% jupyter={"source_hidden": true}' in text
    assert "# %% hidden" not in text


def _pair(tmp_path, stem="00_tour"):
    for suffix in (".py", ".ipynb"):
        shutil.copy(NOTEBOOKS / f"{stem}{suffix}", tmp_path / f"{stem}{suffix}")
    return tmp_path / f"{stem}.py", tmp_path / f"{stem}.ipynb"


def test_an_edited_source_without_sync_is_caught(tmp_path):
    source, notebook = _pair(tmp_path)
    text = source.read_text()
    assert "SEED = 42" in text
    source.write_text(text.replace("SEED = 42", "SEED = 7"))
    diff = "\n".join(sync_notebooks.differences(source, notebook))
    assert "-SEED = 42" in diff and "+SEED = 7" in diff
    assert sync_notebooks.main(["--check", str(source)]) == 1


def test_a_hidden_solution_made_visible_is_caught(tmp_path):
    source, notebook = _pair(tmp_path)
    text = source.read_text()
    source.write_text(text.replace('# %% jupyter={"source_hidden": true}', "# %%", 1))
    assert '"source_hidden": true' in "\n".join(sync_notebooks.differences(source, notebook))


def test_sync_takes_the_cells_from_the_source_and_keeps_other_outputs(tmp_path):
    source, notebook = _pair(tmp_path)
    before = nbformat.read(notebook, as_version=4)
    source.write_text(source.read_text().replace("SEED = 42", "SEED = 7"))
    os.utime(notebook, (1, 1))  # the notebook is older than the edited source
    assert sync_notebooks.sync(source, notebook) == "updated"
    assert sync_notebooks.differences(source, notebook) == []
    after = nbformat.read(notebook, as_version=4)
    changed = [i for i, c in enumerate(before.cells) if "SEED = 42" in c.source]
    assert [c.source for c in after.cells] != [c.source for c in before.cells]
    for i, (old, new) in enumerate(zip(before.cells, after.cells, strict=True)):
        if i not in changed and old.cell_type == "code":
            assert new.outputs == old.outputs
    assert after.metadata == before.metadata
    assert sync_notebooks.sync(source, notebook) == "unchanged"


def test_sync_refuses_to_overwrite_a_notebook_edited_after_its_source(tmp_path):
    source, notebook = _pair(tmp_path)
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[0].source += "\n\nAn edit made outside the pairing."
    nbformat.write(nb, notebook)
    os.utime(source, (1, 1))
    with pytest.raises(sync_notebooks.PairConflict, match="An edit made outside"):
        sync_notebooks.sync(source, notebook)
    assert "An edit made outside" in notebook.read_text()


def test_jupyterlab_saving_a_pair_changes_neither_file(tmp_path):
    """Open and save through jupytext's contents manager, as JupyterLab does."""
    pytest.importorskip("jupyter_server")
    from jupytext import TextFileContentsManager

    source, notebook = _pair(tmp_path, "15_capstone")
    shutil.copy(NOTEBOOKS / "jupytext.toml", tmp_path / "jupytext.toml")
    before = source.read_text(), notebook.read_text()
    from nbformat.sign import NotebookNotary

    manager = TextFileContentsManager(root_dir=str(tmp_path))
    manager.notary = NotebookNotary(db_file=":memory:")  # no trust database in the home folder
    model = manager.get(notebook.name)
    assert [c["source"] for c in model["content"]["cells"]] == [
        c.source for c in nbformat.read(notebook, as_version=4).cells
    ]
    manager.save(model, notebook.name)
    assert (source.read_text(), notebook.read_text()) == before
