"""What every scenario returns, and how scenario parameters are validated."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd

from labsim.errors import ConfigError

__all__ = ["Result", "make_params"]

P = TypeVar("P")


@dataclass(frozen=True)
class Result:
    """A finished scenario run.

    Attributes:
        scenario: Scenario name.
        params: The validated parameters (a frozen dataclass).
        seed: The seed of the run.
        summary: Headline figures (a dict of numbers) — what a sweep collects.
        frames: Every recorded table as a DataFrame.
    """

    scenario: str
    params: Any
    seed: int
    summary: dict[str, Any]
    frames: dict[str, pd.DataFrame] = field(repr=False)

    def __getattr__(self, name: str) -> Any:
        # Summary figures read as attributes too: ``result.delivered_fraction``.
        summary = object.__getattribute__(self, "summary")
        if name in summary:
            return summary[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or summary figure {name!r}")

    def summary_frame(self) -> pd.DataFrame:
        """The summary as a one-row DataFrame (with the seed)."""
        return pd.DataFrame([{"seed": self.seed, **self.summary}])


def make_params(
    cls: type[P], params: P | Mapping[str, Any] | None, overrides: Mapping[str, Any]
) -> P:
    """Build a parameter dataclass from an instance, a dict and/or keyword overrides.

    Unknown names raise :class:`ConfigError` listing the accepted ones.
    """
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    if isinstance(params, cls):
        # Not asdict(): it would turn nested dataclasses (faults, say) into dicts.
        values = {name: getattr(params, name) for name in names}
    elif isinstance(params, Mapping):
        values = dict(params)
    elif params is not None:
        raise ConfigError("params", params, f"None, a dict or a {cls.__name__}")
    values.update(overrides)
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError("parameter", unknown[0], f"one of {', '.join(names)}", cls.__name__)
    return cls(**values)
