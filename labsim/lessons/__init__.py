"""The knobs of each lesson notebook, declared once (type, range, unit, default, doc).

A lesson's ``parameters`` cell holds plain assignments (``SEED = 1``, ``HISTORY = 1234``) that
papermill may replace; the cell right after it calls :func:`check_parameters`, so a bad value
stops the notebook in its first code cell with a :class:`~labsim.ConfigError` naming the knob
and its accepted range, instead of running to the end with nonsense::

    from labsim.lessons import check_parameters
    check_parameters("06_event_sourcing", globals())

Each lesson's declarations live in ``labsim/lessons/lesson_NN.py`` as a ``Parameters``
dataclass whose field names are the notebook's variable names; knobs that are a scenario's
parameter reuse its declaration with :func:`labsim.params.same_as`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from labsim.errors import ConfigError
from labsim.params import Params, build_params, describe, specs

__all__ = ["LESSONS", "check_parameters", "parameters_of", "table", "validated"]


def _lessons() -> dict[str, type[Params]]:
    found: dict[str, type[Params]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("lesson_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            found[module.NOTEBOOK] = module.Parameters
    return dict(sorted(found.items()))


#: Notebook name (``"00_tour"``) -> its parameter declarations.
LESSONS: dict[str, type[Params]] = _lessons()


def parameters_of(notebook: str) -> type[Params]:
    """The ``Parameters`` class of ``notebook`` (``"00_tour"``)."""
    try:
        return LESSONS[notebook]
    except (KeyError, TypeError):
        raise ConfigError("notebook", notebook, f"one of {', '.join(LESSONS)}") from None


def check_parameters(notebook: str, namespace: Mapping[str, Any]) -> None:
    """Check the knobs of ``notebook`` found in ``namespace`` (a notebook's ``globals()``).

    Returns nothing, so the checking cell shows no output when all is well (the validated
    values are :func:`validated` ``(notebook, namespace)``).

    Raises:
        ConfigError: naming the knob, the value given and what it accepts.
    """
    validated(notebook, namespace)


def validated(notebook: str, namespace: Mapping[str, Any]) -> Params:
    """The knobs of ``notebook`` found in ``namespace``, validated (a frozen dataclass)."""
    cls = parameters_of(notebook)
    missing = [name for name in specs(cls) if name not in namespace]
    if missing:
        raise ConfigError("parameters cell", notebook, f"a value for {', '.join(missing)}")
    return build_params(cls, {name: namespace[name] for name in specs(cls)})


def table(notebook: str) -> list[dict[str, str]]:
    """The knobs of ``notebook`` as rows (name, type, default, accepted, unit, doc)."""
    return describe(parameters_of(notebook))
