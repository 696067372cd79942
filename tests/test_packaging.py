"""The project's own files must install everything: pyproject, environment.yml, constraints."""

import re
import sys
from pathlib import Path

import yaml
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_lists_every_runtime_dependency():
    runtime = {_name(r) for r in pyproject()["project"]["dependencies"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    missing = runtime - conda
    assert not missing, f"environment.yml lacks runtime dependencies {sorted(missing)}"
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert any(p.startswith("-e .") and "lab" in p and "test" in p for p in pip_section)


def test_extras_cover_lab_test_and_cluster():
    extras = pyproject()["project"]["optional-dependencies"]
    names = {k: {_name(r) for r in v} for k, v in extras.items()}
    assert {"jupyterlab", "ipykernel", "ipywidgets", "papermill"} <= names["lab"]
    assert {"pytest", "nbval", "hypothesis", "ruff", "ciw", "dask"} <= names["test"]
    assert "dask" in names["cluster"]


def test_constraints_pin_every_dependency_exactly():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraint {line!r} is not an exact pin"
            pins[_name(name)] = version
    project = pyproject()["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    # Only what this interpreter installs (tomli, say, is for Python 3.10 alone).
    wanted = {
        _name(r)
        for r in requirements
        if Requirement(r).marker is None or Requirement(r).marker.evaluate()
    }
    missing = wanted - set(pins)
    assert not missing, f"constraints.txt does not pin {sorted(missing)}"


def test_package_is_typed():
    assert (ROOT / "labsim" / "py.typed").exists()


def test_licence_file_matches_pyproject():
    licence = (ROOT / "LICENSE").read_text()
    project = pyproject()["project"]
    assert project["license"] == "MIT"
    assert licence.startswith("MIT License")
    assert "Copyright (c) 2026 labsim contributors" in licence
    # Listed so that setuptools puts it in the wheel (dist-info/licenses/LICENSE).
    assert "LICENSE" in project["license-files"]
    assert "## Licence" in (ROOT / "README.md").read_text()
