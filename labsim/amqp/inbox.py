"""The idempotent consumer's inbox: processed message ids, remembered for a while.

A worker with an :class:`Inbox` applies a message's side effect only if the inbox has not seen
the message's id; the id is stored together with the effect (think: one database
transaction). A redelivery inside the retention window is acknowledged without repeating the
effect — exactly-once *effects* over at-least-once delivery. A duplicate arriving after the
window gets through again (the late duplicate).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from labsim.errors import check_non_negative

__all__ = ["Inbox"]


class Inbox:
    """Processed message ids, kept for ``retention`` seconds (``None``: forever).

    Stored together with the side effect (think: one database transaction), so a duplicate
    delivery inside the window is recognised and not applied again. After the window a late
    duplicate gets through.
    """

    def __init__(self, retention: float | None = None):
        if retention is not None:
            check_non_negative("retention", retention, "Inbox")
        self.retention = retention
        self._seen: OrderedDict[Any, float] = OrderedDict()

    def _expire(self, now: float) -> None:
        if self.retention is None:
            return
        while self._seen:
            at = next(iter(self._seen.values()))
            if now - at <= self.retention:
                return
            self._seen.popitem(last=False)

    def seen(self, msg_id: Any, now: float) -> bool:
        """Whether ``msg_id`` was processed within the retention window."""
        self._expire(now)
        return msg_id in self._seen

    def remember(self, msg_id: Any, now: float) -> None:
        """Record that ``msg_id`` was processed at ``now``."""
        self._seen[msg_id] = now
        self._seen.move_to_end(msg_id)

    def __len__(self) -> int:
        return len(self._seen)
