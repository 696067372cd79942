"""`make lab`'s room defaults (tools/jupyterlab/overrides.json) name only settings that exist
in the installed JupyterLab, with values its schemas accept."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OVERRIDES = ROOT / "tools" / "jupyterlab" / "overrides.json"
SCHEMAS = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"


def overrides() -> dict:
    return json.loads(OVERRIDES.read_text())


def test_overrides_is_a_json_object_of_plugin_settings():
    data = overrides()
    assert data and isinstance(data, dict)
    for plugin, settings in data.items():
        assert ":" in plugin, f"{plugin!r} is not a plugin id like '@jupyterlab/x-extension:y'"
        assert settings and isinstance(settings, dict)
    # The point of the file: no "get notified about official Jupyter news?" pop-up in the room.
    assert data["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"


@pytest.mark.skipif(not SCHEMAS.is_dir(), reason="JupyterLab is not installed here")
def test_overrides_name_only_existing_settings_with_accepted_values():
    jsonschema = pytest.importorskip("jsonschema")
    for plugin, settings in overrides().items():
        package, _, name = plugin.partition(":")
        schema_file = SCHEMAS / package / f"{name}.json"
        assert schema_file.exists(), f"no schema for {plugin} ({schema_file})"
        properties = json.loads(schema_file.read_text())["properties"]
        for key, value in settings.items():
            assert key in properties, f"{plugin} has no setting {key!r}"
            schema = {k: v for k, v in properties[key].items() if k not in ("title", "description")}
            jsonschema.validate(value, schema)


def test_make_lab_passes_the_overrides_directory():
    makefile = (ROOT / "Makefile").read_text()
    assert "LAB_SETTINGS := $(CURDIR)/tools/jupyterlab" in makefile
    assert "--LabApp.app_settings_dir='$(LAB_SETTINGS)'" in makefile
