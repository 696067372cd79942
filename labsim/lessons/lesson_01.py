"""Knobs of lesson 01, events and brokers."""

from __future__ import annotations

from dataclasses import dataclass

from labsim.params import Params, same_as, seed_param
from labsim.scenarios.brokers import BrokersParams

NOTEBOOK = "01_events_and_brokers"


@dataclass(frozen=True)
class Parameters(Params):
    """Lesson 01's parameters cell."""

    context = "01_events_and_brokers parameters"

    SEED: int = seed_param(7)
    MESSAGES: int = same_as(
        BrokersParams, "messages", 300, doc="records for the queue / pub-sub comparison"
    )
    CONSUMERS: int = same_as(
        BrokersParams, "consumers", 3, doc="consumers (and partitions) in that comparison"
    )
    KEYS: int = same_as(BrokersParams, "keys", 4, doc="distinct keys in the ordering experiment")
    HOT_SHARE: float = same_as(
        BrokersParams, "hot_share", 0.5, doc="share of all traffic carried by one hot key"
    )
    PARTITIONS: int = same_as(
        BrokersParams, "partitions", 6, doc="partitions (and consumers) in the hot-key experiment"
    )
