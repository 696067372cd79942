"""Conformance scripts, part two: TTLs, dead-lettering, max length, priorities, quorum queues.

Waits are short and leave at least 100 ms of margin around every expiry, so the server's
scheduling and the network cannot flip an outcome. See :mod:`labsim.conformance.scripts` for
the registry and the conventions.
"""

from __future__ import annotations

from typing import Any

from labsim.conformance.driver import SETTLE_MS, Driver
from labsim.conformance.scripts import ack_all, script

__all__: list[str] = []  # the scripts are reached through the registry

DLX = {"x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dead"}


def _setup(d: Driver, args: dict[str, Any] | None = None, dead_letters: bool = True) -> None:
    """Exchange ``ex`` -> queue ``q`` (key ``k``); with ``dead_letters``, ``dlx`` -> ``dlq``."""
    if dead_letters:
        d.exchange("dlx", "direct")
        d.queue("dlq")
        d.bind("dlx", "dlq", "dead")
    d.exchange("ex", "direct")
    d.queue("q", {**(DLX if dead_letters else {}), **(args or {})})
    d.bind("ex", "q", "k")


def _retry_through_ttl_queue(d: Driver) -> None:
    """``q`` dead-letters to ``retry`` (TTL 200 ms), which dead-letters back; ``m1`` in ``q``."""
    d.exchange("ex", "direct")
    d.exchange("retry-ex", "direct")
    d.queue("q", {"x-dead-letter-exchange": "retry-ex"})
    d.queue("retry", {"x-message-ttl": 200, "x-dead-letter-exchange": "ex"})
    d.bind("ex", "q", "k")
    d.bind("retry-ex", "retry", "k")
    d.publish("ex", "k", "m1")


def _dead_letters(d: Driver, settle_ms: int = SETTLE_MS) -> None:
    d.consume("dlq", "dl", 20)
    d.take("dl", settle_ms)


# -- time to live --------------------------------------------------------------------------------
@script()
def message_ttl_expires(d: Driver) -> None:
    """A per-message TTL (``expiration``) expires the message; it is dead-lettered 'expired'."""
    _setup(d)
    d.publish("ex", "k", "m1", expiration_ms=200)
    d.publish("ex", "k", "m2")
    d.wait(100)
    d.count("q")
    d.wait(300)
    d.count("q")
    _dead_letters(d)
    d.consume("q", "c", 10)
    d.take("c")


@script()
def queue_ttl_expires(d: Driver) -> None:
    """A per-queue TTL (``x-message-ttl``) expires every message that long after it arrived."""
    _setup(d, {"x-message-ttl": 300})
    d.publish("ex", "k", "m1")
    d.wait(450)
    d.count("q")
    d.publish("ex", "k", "m2")
    d.wait(100)
    d.count("q")
    d.wait(350)
    d.count("q")
    _dead_letters(d)


@script()
def message_ttl_below_queue_ttl(d: Driver) -> None:
    """A message TTL shorter than the queue's wins: the lower of the two applies."""
    _setup(d, {"x-message-ttl": 2000})
    d.publish("ex", "k", "m1", expiration_ms=150)
    d.publish("ex", "k", "m2")
    d.wait(350)
    d.count("q")
    _dead_letters(d)


@script()
def queue_ttl_caps_message_ttl(d: Driver) -> None:
    """A queue TTL shorter than a message's expiration wins: the lower of the two applies."""
    _setup(d, {"x-message-ttl": 150})
    d.publish("ex", "k", "m1", expiration_ms=2000)
    d.wait(400)
    d.count("q")
    _dead_letters(d)


@script()
def ttl_expires_only_at_head(d: Driver) -> None:
    """An expired message behind a live one stays (and is counted) until it reaches the head."""
    _setup(d)
    d.publish("ex", "k", "m1")
    d.publish("ex", "k", "m2", expiration_ms=100)
    d.wait(300)
    d.count("q")
    d.count("dlq")
    d.consume("q", "c", 1)
    d.take("c")
    d.ack("c", "m1")
    d.take("c")
    d.count("q")
    _dead_letters(d)


@script()
def expired_behind_head_not_delivered(d: Driver) -> None:
    """An expired message reaching the head while a consumer has room is dead-lettered, not sent."""
    _setup(d)
    d.publish("ex", "k", "m1")
    d.publish("ex", "k", "m2", expiration_ms=100)
    d.publish("ex", "k", "m3")
    d.wait(300)
    d.consume("q", "c", 2)
    ack_all(d, "c")
    ack_all(d, "c")
    _dead_letters(d)


@script()
def ttl_zero_reaches_waiting_consumer(d: Driver) -> None:
    """An expiration of 0 delivers to a consumer with room at once, else expires the message."""
    _setup(d)
    d.consume("q", "c", 1)
    d.publish("ex", "k", "m1", expiration_ms=0)
    d.publish("ex", "k", "m2", expiration_ms=0)
    d.take("c")
    d.count("q")
    _dead_letters(d)


@script()
def expired_while_unacked(d: Driver) -> None:
    """A message whose TTL ran out while it was unacknowledged expires when requeued."""
    _setup(d)
    d.publish("ex", "k", "m1", expiration_ms=200)
    d.consume("q", "c", 1)
    d.take("c")
    d.wait(350)
    d.nack("c", "m1", requeue=True)
    d.take("c")
    d.count("q")
    _dead_letters(d)


# -- dead-lettering ------------------------------------------------------------------------------
@script()
def dead_letter_rejected(d: Driver) -> None:
    """``reject``/``nack`` without requeue dead-letter with reason 'rejected' and the DLX key."""
    _setup(d)
    for body in ("m1", "m2", "m3"):
        d.publish("ex", "k", body)
    d.consume("q", "c", 3)
    d.take("c")
    d.reject("c", "m1", requeue=False)
    d.nack("c", "m2", requeue=False)
    d.ack("c", "m3")
    d.count("q")
    _dead_letters(d)


@script()
def dead_letter_keeps_routing_key(d: Driver) -> None:
    """Without ``x-dead-letter-routing-key`` the DLX routes on the message's own routing key."""
    d.exchange("dlx", "topic")
    for q, pattern in (("dl-a", "a.#"), ("dl-b", "b.#")):
        d.queue(q)
        d.bind("dlx", q, pattern)
    d.exchange("ex", "topic")
    d.queue("q", {"x-dead-letter-exchange": "dlx"})
    d.bind("ex", "q", "#")
    d.publish("ex", "a.1", "m1")
    d.publish("ex", "b.1", "m2")
    d.consume("q", "c", 2)
    d.take("c")
    d.reject("c", "m1", requeue=False)
    d.reject("c", "m2", requeue=False)
    for q in ("dl-a", "dl-b"):
        d.consume(q, f"c-{q}", 10)
        d.take(f"c-{q}")


@script()
def delayed_retry_through_ttl_queue(d: Driver) -> None:
    """Reject -> DLX -> a retry queue with a TTL -> its DLX -> back: a delayed retry."""
    _retry_through_ttl_queue(d)
    d.consume("q", "c", 1)
    d.take("c")
    d.reject("c", "m1", requeue=False)
    d.wait(50)
    d.count("retry")
    d.take("c")
    d.wait(300)
    d.take("c")


@script()
def delayed_retry_counts_deaths(d: Driver) -> None:
    """Two delayed retries: each ``x-death`` entry counts its deaths and moves to the front."""
    _retry_through_ttl_queue(d)
    d.consume("q", "c", 1)
    for _ in range(2):
        d.take("c")
        d.reject("c", "m1", requeue=False)
        d.wait(300)
    d.take("c")


@script()
def dead_letter_cycle_is_dropped(d: Driver) -> None:
    """A dead-letter cycle with no rejection in it (a TTL queue dead-lettering to itself) drops."""
    d.exchange("ex", "direct")
    d.queue("q", {"x-message-ttl": 100, "x-dead-letter-exchange": "ex"})
    d.queue("audit")
    d.bind("ex", "q", "k")
    d.bind("ex", "audit", "k")
    d.publish("ex", "k", "m1")
    d.wait(400)
    d.count("q")
    d.consume("audit", "a", 10)
    d.take("a")


@script()
def dead_letter_routing_key_needs_exchange(d: Driver) -> None:
    """``x-dead-letter-routing-key`` without ``x-dead-letter-exchange``: refused."""
    d.queue("q", {"x-dead-letter-routing-key": "dead"})


# -- max length ----------------------------------------------------------------------------------
@script()
def max_length_drop_head(d: Driver) -> None:
    """``x-max-length`` 2 (default overflow drop-head): the oldest are dead-lettered 'maxlen'."""
    _setup(d, {"x-max-length": 2})
    for i in range(1, 6):
        d.publish("ex", "k", f"m{i}")
    d.count("q")
    _dead_letters(d)
    d.consume("q", "c", 10)
    d.take("c")


@script()
def max_length_reject_publish(d: Driver) -> None:
    """``x-overflow=reject-publish``: a publish to a full queue is nacked, not dead-lettered."""
    _setup(d, {"x-max-length": 2, "x-overflow": "reject-publish"})
    for i in range(1, 4):
        d.publish("ex", "k", f"m{i}")
    d.count("q")
    d.count("dlq")


@script()
def max_length_counts_ready_only(d: Driver) -> None:
    """Unacknowledged messages do not count towards ``x-max-length``."""
    _setup(d, {"x-max-length": 2, "x-overflow": "reject-publish"})
    d.publish("ex", "k", "m1")
    d.publish("ex", "k", "m2")
    d.consume("q", "c", 2)
    d.take("c")
    for i in range(3, 6):
        d.publish("ex", "k", f"m{i}")
    d.count("q")
    d.close("c")
    d.count("q")


# -- priorities ----------------------------------------------------------------------------------
@script()
def priorities(d: Driver) -> None:
    """``x-max-priority`` 5: higher first, FIFO within a level, above 5 counts as 5, none as 0."""
    _setup(d, {"x-max-priority": 5}, dead_letters=False)
    for body, prio in (("m1", 0), ("m2", 3), ("m3", 5), ("m4", 9), ("m5", None), ("m6", 3)):
        d.publish("ex", "k", body, priority=prio)
    d.consume("q", "c", 1)
    for _ in range(7):
        ack_all(d, "c")


@script()
def priority_ignored_without_max_priority(d: Driver) -> None:
    """Without ``x-max-priority`` a queue ignores message priorities: plain FIFO."""
    _setup(d, dead_letters=False)
    for body, prio in (("m1", 0), ("m2", 9), ("m3", 5)):
        d.publish("ex", "k", body, priority=prio)
    d.consume("q", "c", 10)
    d.take("c")


# -- quorum queues -------------------------------------------------------------------------------
QUORUM = {"x-queue-type": "quorum"}
#: Quorum queues go through a Raft log: deliveries and returns get more time (250 ms was short).
Q_SETTLE = 500
#: The pause after a channel closes, before counting what it returned (in the captured trace).
Q_RETURN_WAIT = 250


@script()
def quorum_counts_returns(d: Driver) -> None:
    """Quorum queue: every return (nack, reject, channel close) counts in ``x-delivery-count``."""
    _setup(d, QUORUM, dead_letters=False)
    d.publish("ex", "k", "m1")
    d.consume("q", "c1", 1)
    d.take("c1", Q_SETTLE)
    d.nack("c1", "m1", requeue=True)
    d.take("c1", Q_SETTLE)
    d.reject("c1", "m1", requeue=True)
    d.take("c1", Q_SETTLE)
    d.close("c1")
    d.consume("q", "c2", 1)
    d.take("c2", Q_SETTLE)
    d.ack("c2", "m1")
    d.count("q")


@script()
def quorum_requeue_goes_to_back(d: Driver) -> None:
    """Quorum queue: a message nacked with requeue goes to the back, behind waiting ones."""
    _setup(d, QUORUM, dead_letters=False)
    for body in ("m1", "m2", "m3"):
        d.publish("ex", "k", body)
    d.consume("q", "c", 1)
    for _ in range(4):
        for delivery in d.take("c", Q_SETTLE):
            d.nack("c", delivery.body, requeue=True)


@script()
def quorum_delivery_limit(d: Driver) -> None:
    """Quorum ``x-delivery-limit`` 3: how many deliveries before the message is dead-lettered."""
    _setup(d, {**QUORUM, "x-delivery-limit": 3})
    d.publish("ex", "k", "m1")
    d.consume("q", "c", 1)
    for _ in range(5):
        for delivery in d.take("c", Q_SETTLE):
            d.nack("c", delivery.body, requeue=True)
    _dead_letters(d, Q_SETTLE)


@script()
def quorum_delivery_limit_on_close(d: Driver) -> None:
    """Quorum ``x-delivery-limit`` 1: returns by a closing channel count towards the limit."""
    _setup(d, {**QUORUM, "x-delivery-limit": 1})
    d.publish("ex", "k", "m1")
    for name in ("c1", "c2", "c3"):
        d.consume("q", name, 1)
        d.take(name, Q_SETTLE)
        d.close(name)
    d.count("q")
    _dead_letters(d, Q_SETTLE)


@script()
def classic_refuses_delivery_limit(d: Driver) -> None:
    """A classic queue cannot have ``x-delivery-limit``: the declaration is refused."""
    if d.queue("q", {"x-delivery-limit": 1}) == "ok":
        d.exchange("ex", "direct")
        d.bind("ex", "q", "k")
        d.publish("ex", "k", "m1")
        d.consume("q", "c", 1)
        for _ in range(3):
            for delivery in d.take("c"):
                d.nack("c", delivery.body, requeue=True)


@script()
def quorum_close_returns_to_head(d: Driver) -> None:
    """Quorum queue: what a closing channel returns is served first, unlike a requeue."""
    _setup(d, QUORUM, dead_letters=False)
    for i in range(1, 5):
        d.publish("ex", "k", f"m{i}")
    d.consume("q", "c1", 2)
    d.take("c1", Q_SETTLE)
    d.close("c1")
    d.wait(Q_RETURN_WAIT)
    d.count("q")
    d.consume("q", "c2", 10)
    d.take("c2", Q_SETTLE)


@script()
def quorum_refuses_max_priority(d: Driver) -> None:
    """Priorities are a classic-queue feature: a quorum queue with ``x-max-priority`` is refused."""
    if d.queue("q", {**QUORUM, "x-max-priority": 5}) == "ok":
        d.exchange("ex", "direct")
        d.bind("ex", "q", "k")
        d.publish("ex", "k", "m1", priority=1)
        d.publish("ex", "k", "m2", priority=5)
        d.consume("q", "c", 10)
        d.take("c", Q_SETTLE)
