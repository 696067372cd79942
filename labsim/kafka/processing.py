"""Processing a fetched batch with one timeout instead of one per record.

A consumer with no per-record handler does not need to wake at the end of each record: the
processing times are drawn in order and added up as a record-by-record loop would (so each
record ends at the very same simulated time), one timeout covers the batch, and each
record's row is written with its own end time when the batch ends. If the node crashes
meanwhile, only the records that ended before the crash get a row, and the random stream is
left exactly where the record-by-record loop would have left it, so a run that crashes a
consumer draws the same numbers afterwards.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Callable, Generator, Sequence
from typing import Any

import simpy

from labsim.dists import Distribution
from labsim.kafka.messages import Fetched
from labsim.transport import delay_until

__all__ = ["process_batch"]


def process_batch(
    env: simpy.Environment,
    rng: random.Random,
    processing: Distribution,
    batches: Sequence[Fetched],
    row: Callable[[float, Fetched, Any], None],
) -> Generator[Any, Any, None]:
    """Process every record of ``batches`` in order; ``row(end, fetched, record)`` for each.

    Use as ``yield from process_batch(...)`` in the consumer's process. A
    :class:`simpy.Interrupt` (a crash) records the records finished so far and is re-raised.
    """
    sample = processing.sample
    # One record draws once whenever it is interrupted: no need to keep the state (which
    # costs more than drawing a few numbers).
    state = rng.getstate() if sum(len(f.records) for f in batches) > 1 else None
    start = end = env.now
    ends = []
    for fetched in batches:
        for _ in fetched.records:
            end = end + sample(rng)  # as SimPy adds each delay to the current time
            ends.append(end)
    try:
        yield env.timeout(delay_until(start, end))
    except simpy.Interrupt:
        finished = bisect_left(ends, env.now)  # records that ended before the interruption
        if state is not None:
            rng.setstate(state)
            for _ in range(min(finished + 1, len(ends))):
                sample(rng)  # the draws of the records started before the interruption
        _rows(batches, ends[:finished], row)
        raise
    _rows(batches, ends, row)


def _rows(
    batches: Sequence[Fetched], ends: list[float], row: Callable[[float, Fetched, Any], None]
) -> None:
    times = iter(ends)
    for fetched in batches:
        for record, end in zip(fetched.records, times, strict=False):
            row(end, fetched, record)
