"""Merges per second for each CRDT at 3 and 30 replicas, and how the state grows.

For each type, ``replicas`` states are built by 20 operations per replica; then every state is
merged with every other, repeatedly; the figure is merges per second (median of 3). State size
is the ``metadata_size`` of the state merged from all replicas. A baseline in the same run —
merging two plain dicts of counts with ``max`` — puts the GCounter figure in proportion.
Prints one JSON line.

Run: ``.venv/bin/python benchmarks/crdt.py``
"""

from __future__ import annotations

import random
import statistics
import time
from functools import reduce

from _common import emit

from labsim.replication.crdt import (
    GCounter,
    GSet,
    LWWRegister,
    MVRegister,
    ORSet,
    PNCounter,
    TwoPSet,
)

OPS_PER_REPLICA = 20
KINDS = (GCounter, PNCounter, GSet, TwoPSet, LWWRegister, MVRegister, ORSet)


def operate(state, name: str, rng: random.Random):
    item = f"e{rng.randrange(50)}"
    kind = type(state)
    if kind is GCounter:
        return state.increment(name)
    if kind is PNCounter:
        return state.increment(name) if rng.random() < 0.6 else state.decrement(name)
    if kind is GSet:
        return state.add(item)
    if kind is TwoPSet:
        return state.add(item) if rng.random() < 0.7 else state.remove(item)
    if kind is LWWRegister:
        return state.assign(item, rng.random() * 100, name)
    if kind is MVRegister:
        return state.assign(item, name)
    return state.add(item, name) if rng.random() < 0.7 else state.remove(item)


def build(kind, replicas: int, rng: random.Random) -> list:
    states = []
    for r in range(replicas):
        state = kind()
        for _ in range(OPS_PER_REPLICA):
            state = operate(state, f"r{r}", rng)
        states.append(state)
    return states


def merges_per_second(merge, states, rounds: int) -> float:
    pairs = [(a, b) for a in states for b in states if a is not b]
    rates = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(rounds):
            for a, b in pairs:
                merge(a, b)
        rates.append(rounds * len(pairs) / (time.perf_counter() - start))
    return statistics.median(rates)


def dict_max(a: dict, b: dict) -> dict:
    merged = dict(a)
    for k, v in b.items():
        merged[k] = max(merged.get(k, 0), v)
    return merged


def main() -> None:
    figures: dict[str, float | int | str] = {"benchmark": "crdt"}
    for replicas in (3, 30):
        rounds = 300 if replicas == 3 else 3
        for kind in KINDS:
            states = build(kind, replicas, random.Random(1))
            rate = merges_per_second(lambda a, b: a.merge(b), states, rounds)
            figures[f"{kind.__name__}_merges_per_s_r{replicas}"] = rate
            merged = reduce(lambda a, b: a.merge(b), states)
            figures[f"{kind.__name__}_state_size_r{replicas}"] = merged.metadata_size
        plain = [{f"r{r}": OPS_PER_REPLICA} for r in range(replicas)]
        figures[f"dict_max_baseline_merges_per_s_r{replicas}"] = merges_per_second(
            dict_max, plain, rounds
        )
    emit(figures)


if __name__ == "__main__":
    main()
