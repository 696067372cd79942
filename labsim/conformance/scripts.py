"""Conformance scripts, part one: routing and consuming (part two: :mod:`.scripts_queues`).

Each script is a plain function of a :class:`~labsim.conformance.driver.Driver`, written as
one would write it for RabbitMQ. Registered with :func:`script`, it becomes a :class:`Script`
in :data:`SCRIPTS` (the registry holds both parts once :func:`all_scripts` has run).

Allowances for what RabbitMQ leaves unspecified are made where they apply, with the reason
(:meth:`~labsim.conformance.driver.Driver.take_unordered`). A script on which the model is
known to disagree with the server carries ``known_difference`` (why) and the first differing
pair of events (``model_event``, ``server_event``), which the tests check, so a fix to the
model shows up as a script that now agrees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from labsim.conformance.driver import Driver

__all__ = ["SCRIPTS", "Script", "all_scripts", "script"]


@dataclass(frozen=True)
class Script:
    """A conformance script.

    Attributes:
        name: The function's name.
        doc: First line of its docstring: what it shows.
        run: The script itself.
        known_difference: Why the model's trace differs from the server's (``""``: it must not).
        model_event: The model's line at the first difference (when ``known_difference``).
        server_event: The server's line there.
    """

    name: str
    doc: str
    run: Callable[[Driver], None]
    known_difference: str = ""
    model_event: str | None = None
    server_event: str | None = None


#: Every registered script by name (complete after :func:`all_scripts`).
SCRIPTS: dict[str, Script] = {}


def script(
    known_difference: str = "", model_event: str | None = None, server_event: str | None = None
) -> Callable[[Callable[[Driver], None]], Callable[[Driver], None]]:
    """Register the decorated function as a :class:`Script`."""
    if bool(known_difference) != (model_event is not None and server_event is not None):
        raise ValueError("a known difference names its reason and both first differing events")

    def register(fn: Callable[[Driver], None]) -> Callable[[Driver], None]:
        doc = (fn.__doc__ or "").strip().splitlines()[0]
        if fn.__name__ in SCRIPTS:
            raise ValueError(f"script {fn.__name__!r} registered twice")
        SCRIPTS[fn.__name__] = Script(
            fn.__name__, doc, fn, known_difference, model_event, server_event
        )
        return fn

    return register


def all_scripts() -> dict[str, Script]:
    """Every script, both parts, in registration order."""
    from labsim.conformance import scripts_queues  # noqa: F401  (registers part two)

    return dict(SCRIPTS)


def direct_queue(d: Driver, messages: int = 0) -> None:
    """Exchange ``ex`` -> queue ``q`` (key ``k``), then ``messages`` published (``m1``, ...)."""
    d.exchange("ex", "direct")
    d.queue("q")
    d.bind("ex", "q", "k")
    for i in range(1, messages + 1):
        d.publish("ex", "k", f"m{i}")


def ack_all(d: Driver, consumer: str) -> None:
    """Take what ``consumer`` has and acknowledge each delivery."""
    for delivery in d.take(consumer):
        d.ack(consumer, delivery.body)


# -- routing -------------------------------------------------------------------------------------
@script()
def direct_routing(d: Driver) -> None:
    """Direct exchange: a binding key equal to the routing key routes; one copy per queue."""
    d.exchange("ex", "direct")
    for q in ("q1", "q2", "q3"):
        d.queue(q)
    d.bind("ex", "q1", "a")
    d.bind("ex", "q2", "b")
    d.bind("ex", "q3", "a")
    d.bind("ex", "q3", "b")
    d.bind("ex", "q3", "a")  # a duplicate binding still gives one copy
    for body, key in (("m1", "a"), ("m2", "b"), ("m3", "c"), ("m4", "A")):
        d.publish("ex", key, body)
    for q in ("q1", "q2", "q3"):
        d.count(q)
        d.consume(q, f"c-{q}", 10)
        d.take(f"c-{q}")


@script()
def fanout_routing(d: Driver) -> None:
    """Fanout exchange: every bound queue gets a copy whatever the routing key."""
    d.exchange("ex", "fanout")
    for q in ("q1", "q2", "q3"):
        d.queue(q)
        d.bind("ex", q, "ignored")
    d.publish("ex", "anything", "m1")
    d.publish("ex", "", "m2")
    for q in ("q1", "q2", "q3"):
        d.consume(q, f"c-{q}", 10)
        d.take(f"c-{q}")


@script()
def topic_tutorial(d: Driver) -> None:
    """Topic exchange, RabbitMQ tutorial 5: ``*.orange.*`` vs ``*.*.rabbit`` and ``lazy.#``."""
    d.exchange("ex", "topic")
    d.queue("q1")
    d.queue("q2")
    d.bind("ex", "q1", "*.orange.*")
    d.bind("ex", "q2", "*.*.rabbit")
    d.bind("ex", "q2", "lazy.#")
    keys = (
        "quick.orange.rabbit",
        "lazy.orange.elephant",
        "quick.orange.fox",
        "lazy.brown.fox",
        "lazy.pink.rabbit",
        "quick.brown.fox",
        "orange",
        "quick.orange.male.rabbit",
        "lazy.orange.male.rabbit",
    )
    for i, key in enumerate(keys, 1):
        d.publish("ex", key, f"m{i}")
    for q in ("q1", "q2"):
        d.consume(q, f"c-{q}", 20)
        d.take(f"c-{q}")


@script()
def topic_wildcard_edges(d: Driver) -> None:
    """Topic edge cases: ``#`` matches zero words, ``*`` exactly one (possibly empty) word."""
    d.exchange("ex", "topic")
    patterns = {"all": "#", "a_hash": "a.#", "hash_b": "#.b", "a_star_b": "a.*.b", "star": "*"}
    for q, pattern in patterns.items():
        d.queue(q)
        d.bind("ex", q, pattern)
    keys = ("a", "b", "a.b", "a.x.b", "a..b", "", "x.y.b", "a.x.y.b")
    for i, key in enumerate(keys, 1):
        d.publish("ex", key, f"m{i}")
    for q in patterns:
        d.consume(q, f"c-{q}", 20)
        d.take(f"c-{q}")


@script()
def unroutable_is_confirmed(d: Driver) -> None:
    """A message no binding matches is dropped, yet confirmed (no ``mandatory`` flag)."""
    d.exchange("ex", "direct")
    d.queue("q")
    d.bind("ex", "q", "a")
    d.publish("ex", "nobody", "m1")
    d.publish("ex", "a", "m2")
    d.count("q")


# -- consuming -----------------------------------------------------------------------------------
@script()
def prefetch_window(d: Driver) -> None:
    """A prefetch window of 2: at most two unacknowledged deliveries; an ack frees a slot."""
    direct_queue(d, 5)
    d.consume("q", "c", 2)
    d.take("c")
    d.count("q")
    d.ack("c", "m1")
    d.take("c")
    d.count("q")
    d.ack("c", "m2")
    d.ack("c", "m3")
    d.take("c")
    d.count("q")


@script()
def competing_consumers(d: Driver) -> None:
    """Two consumers with prefetch 1 share a queue; each holds one message at a time."""
    direct_queue(d, 4)
    d.consume("q", "c1", 1)
    d.consume("q", "c2", 1)
    why = "RabbitMQ round-robins between consumers, but which one is first is timing"
    d.take_unordered(["c1", "c2"], why)
    d.count("q")


@script()
def nack_requeue_goes_to_head(d: Driver) -> None:
    """``nack`` with requeue puts the message back at the head: it comes again, redelivered."""
    direct_queue(d, 3)
    d.consume("q", "c", 1)
    d.take("c")
    d.nack("c", "m1", requeue=True)
    d.take("c")
    d.reject("c", "m1", requeue=True)
    d.take("c")
    d.ack("c", "m1")
    ack_all(d, "c")
    ack_all(d, "c")
    d.take("c")


@script()
def redelivered_to_another_consumer(d: Driver) -> None:
    """A message rejected with requeue by one consumer reaches the other, flagged redelivered."""
    direct_queue(d, 1)
    d.consume("q", "c1", 1)
    d.take("c1")
    d.consume("q", "c2", 1)
    d.close("c1")
    d.take("c2")
    d.reject("c2", "m1", requeue=False)
    d.count("q")


@script()
def close_returns_unacked(d: Driver) -> None:
    """Closing a channel returns its unacknowledged messages, in order, marked redelivered."""
    direct_queue(d, 5)
    d.consume("q", "c1", 3)
    d.take("c1")
    d.ack("c1", "m2")
    d.take("c1")
    d.close("c1")
    d.count("q")
    d.consume("q", "c2", 10)
    d.take("c2")


@script()
def cancel_keeps_unacked(d: Driver) -> None:
    """After ``basic.cancel`` a consumer's unacknowledged messages stay with its channel."""
    direct_queue(d, 3)
    d.consume("q", "c1", 2)
    d.take("c1")
    d.cancel("c1")
    d.count("q")
    d.consume("q", "c2", 10)
    d.take("c2")
    d.close("c1")
    d.take("c2")


@script()
def cancelled_consumer_still_settles(d: Driver) -> None:
    """After ``basic.cancel`` a consumer still acknowledges and requeues what it holds."""
    direct_queue(d, 3)
    d.consume("q", "c1", 2)
    d.take("c1")
    d.cancel("c1")
    d.ack("c1", "m1")
    d.take("c1")
    d.count("q")
    d.nack("c1", "m2", requeue=True)
    d.take("c1")  # the requeued message does not come back to the cancelled consumer
    d.count("q")
    d.consume("q", "c2", 10)
    d.take("c2")
