"""Processing a fetched batch with one timeout instead of one per record.

A consumer with no per-record handler does not need to wake at the end of each record: the
processing times are drawn in order and added up as a record-by-record loop would (so each
record ends at the very same simulated time), one timeout covers the batch, and each
record's row is written with its own end time when the batch ends. If the node crashes
meanwhile, only the records that ended before the crash get a row, and the random stream is
left exactly where the record-by-record loop would have left it, so a run that crashes a
consumer draws the same numbers afterwards.

Putting the stream back needs its state from before the batch. Copying it (``getstate``) costs
as much as drawing a few hundred numbers, so a caller that owns the stream may keep a *twin*:
a second generator in the same state, which replays each batch's draws after it (a few
draws, far cheaper than a copy); after a crash the stream is set from the twin.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Callable, Generator, Sequence
from math import log as _log
from typing import Any

import simpy

from labsim.dists import Distribution, Exponential
from labsim.kafka.messages import Fetched
from labsim.transport import delay_until

__all__ = ["process_batch"]


def process_batch(
    env: simpy.Environment,
    rng: random.Random,
    processing: Distribution,
    batches: Sequence[Fetched],
    row: Callable[[float, Fetched, Any], None] | None,
    twin: random.Random | None = None,
) -> Generator[Any, Any, None]:
    """Process every record of ``batches`` in order; ``row(end, fetched, record)`` for each.

    Use as ``yield from process_batch(...)`` in the consumer's process. A
    :class:`simpy.Interrupt` (a crash) records the records finished so far and is re-raised.

    Args:
        row: Records one processed record; ``None`` when nothing is recorded.
        twin: A generator in the very state ``rng`` is in (nothing else draws from ``rng``
            meanwhile); left in ``rng``'s state again when the batch ends or is interrupted.
            Without it, ``rng``'s state is copied before a batch of several records.
    """
    sample = processing.sample
    # One record draws once whenever it is interrupted: no need to keep the state (which
    # costs more than drawing a few numbers).
    state = rng.getstate() if twin is None and sum(len(f.records) for f in batches) > 1 else None
    start = end = env.now
    ends = []
    if type(processing) is Exponential:
        # Drawn with the very operations of ``rng.expovariate``: the same numbers, two calls
        # fewer per record.
        random, rate = rng.random, processing.rate
        for fetched in batches:
            for _ in fetched.records:
                end = end + -_log(1.0 - random()) / rate  # as SimPy adds each delay to now
                ends.append(end)
    else:
        for fetched in batches:
            for _ in fetched.records:
                end = end + sample(rng)  # as SimPy adds each delay to the current time
                ends.append(end)
    try:
        yield env.timeout(delay_until(start, end))
    except simpy.Interrupt:
        finished = bisect_left(ends, env.now)  # records that ended before the interruption
        if twin is not None:
            # The draws of the records started before the interruption.
            _replay(twin, processing, min(finished + 1, len(ends)))
            rng.setstate(twin.getstate())
        elif state is not None:
            rng.setstate(state)
            for _ in range(min(finished + 1, len(ends))):
                sample(rng)  # the draws of the records started before the interruption
        if row is not None:
            _rows(batches, ends[:finished], row)
        raise
    if twin is not None:
        _replay(twin, processing, len(ends))
    if row is not None:
        _rows(batches, ends, row)


def _replay(twin: random.Random, processing: Distribution, draws: int) -> None:
    """Draw ``draws`` processing times from ``twin``: only its state is wanted, not the numbers."""
    if type(processing) is Exponential:
        # ``expovariate`` draws one ``random()`` a value: the same state, far fewer calls.
        random = twin.random
        for _ in range(draws):
            random()
    else:
        sample = processing.sample
        for _ in range(draws):
            sample(twin)


def _rows(
    batches: Sequence[Fetched], ends: list[float], row: Callable[[float, Fetched, Any], None]
) -> None:
    times = iter(ends)
    for fetched in batches:
        for record, end in zip(fetched.records, times):  # noqa: B905 (times, shared, may end early)
            row(end, fetched, record)
