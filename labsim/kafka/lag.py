"""The broker's lag sampler: each group's lag per partition, every ``interval`` seconds.

A sample is one row per group and partition of ``lag`` (time, group, topic, partition,
end_offset, committed, lag). The rows change only when something the lag is made of changes:
an append, a commit, a member joining or leaving, a topic created or grown. The sampler samples
on every interval while such changes come, and once an interval passes without any it goes to
sleep; the first change afterwards (or a read of the table, or a crash of the broker) writes the
samples it skipped — the same rows at each skipped sample time — and it samples on the
interval again. The table is the one a sampler waking on every interval writes, without the
wake-ups of a quiet stretch (an idle consumer group, the drain at the end of a run).

The one difference: a sample due at the very instant of the change that wakes the sampler
records the state before that change; a sampler waking on every interval would record the
state before or after it depending on which of the two events SimPy scheduled first.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from labsim.record import Table
from labsim.transport import delay_until

if TYPE_CHECKING:
    from labsim.kafka.broker import Broker

__all__ = ["LagSampler", "ignore_change"]

#: One sample row without its time: (group, topic, partition, end_offset, committed, lag).
Row = tuple[str, str, int, int, int, int]


class LagSampler:
    """Samples the lag of every consumer group of ``broker`` into ``table``.

    Args:
        broker: The broker whose groups and topics are sampled.
        interval: Seconds between samples (> 0, checked by the broker).
        table: The ``lag`` table.

    Call :meth:`changed` whenever something a sample is made of changes; run :meth:`run` as a
    process on the broker's node (a crash of the node ends it).
    """

    def __init__(self, broker: Broker, interval: float, table: Table):
        self.broker = broker
        self.interval = interval
        self._env = broker.world.env
        self._add = table.add
        self._dirty = True  # something changed since the last sample
        # While asleep: the time of the next sample due and the rows it would write.
        self._asleep: tuple[float, list[Row]] | None = None
        self._wake: simpy.Event | None = None
        #: How many times the sampler woke to take a sample (it sleeps through quiet stretches).
        self.wake_ups = 0
        table.before_read(self.catch_up)

    def rows(self) -> list[Row]:
        """The rows of a sample taken now, in the table's order."""
        rows: list[Row] = []
        topics_by_name = self.broker.topics
        for group in self.broker.groups.values():
            committed = group.committed
            topics = {t for m in group.members.values() for t in m.topics} | {
                topic for topic, _ in committed
            }
            for name in sorted(topics):
                topic = topics_by_name.get(name)
                if topic is None:
                    continue
                for p, log in enumerate(topic.partitions):
                    done = committed.get((name, p), 0)
                    rows.append((group.name, name, p, log.end_offset, done, log.end_offset - done))
        return rows

    def changed(self) -> None:
        """Note a change; a sleeping sampler writes the samples due until now and wakes."""
        self._dirty = True
        if self._asleep is not None:
            next_at = self._fill(include_now=True)
            self._asleep = None
            assert self._wake is not None
            self._wake.succeed(next_at)

    def catch_up(self) -> None:
        """Write the samples a sleeping sampler skipped before now (before the table is read)."""
        if self._asleep is not None:
            self._fill(include_now=False)

    def _fill(self, include_now: bool) -> float:
        """Write the skipped samples due before now (and at now, with ``include_now``); return
        the time of the next sample due."""
        assert self._asleep is not None
        next_at, rows = self._asleep
        now, add, interval = self._env.now, self._add, self.interval
        while next_at < now or (include_now and next_at == now):
            for row in rows:
                add(next_at, *row)
            next_at = next_at + interval  # as SimPy adds each interval to the sample's time
        self._asleep = (next_at, rows)
        return next_at

    def run(self) -> Generator[Any, Any, None]:
        """The sampling process."""
        env, interval, add = self._env, self.interval, self._add
        delay = interval
        while True:
            yield env.timeout(delay)
            self.wake_ups += 1
            now = env.now
            rows = self.rows()
            for row in rows:
                add(now, *row)
            delay = interval
            if self._dirty:
                self._dirty = False
                continue
            # A quiet interval: sleep until something changes.
            self._asleep = (now + interval, rows)
            self._wake = env.event()
            try:
                next_at = yield self._wake
            except simpy.Interrupt:
                # The broker crashed: the samples due before the crash, then stop (as the
                # sampler does when the crash comes while it waits for its next sample).
                self._fill(include_now=False)
                self._asleep = None
                raise
            delay = delay_until(env.now, next_at)


def ignore_change() -> None:
    """The change notice when no sampler runs: nothing to do."""
