"""Knobs of lesson 14, the challenge ladder."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, param, seed_param

NOTEBOOK = "14_challenges"


@dataclass(frozen=True)
class Parameters(Params):
    """The challenge lesson's parameters cell."""

    context = "14_challenges parameters"

    SEED: int = seed_param(0)
    SEEDS: int = param(20, "seeded chaos plans each check tries", ge=1, le=200)
