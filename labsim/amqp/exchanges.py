"""RabbitMQ-style exchanges: where a published message goes, decided by its routing key.

An exchange holds **bindings** (queue, binding key) and routes each message to the queues
whose binding matches the message's routing key, by the exchange's kind:

* ``fanout`` — every bound queue, whatever the key;
* ``direct`` — the binding key equals the routing key;
* ``topic`` — the binding key is a pattern of dot-separated words: ``*`` matches exactly one
  word, ``#`` zero or more (``order.*.eu`` takes ``order.created.eu``; ``#`` takes all).

A queue bound twice (by two matching bindings) still gets one copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from labsim.amqp.queues import Queue
from labsim.errors import check_choice

__all__ = ["EXCHANGE_KINDS", "Binding", "Exchange", "binding_matches", "topic_matches"]

#: The kinds of exchange (RabbitMQ's ``headers`` kind is not modelled).
EXCHANGE_KINDS = ("direct", "fanout", "topic")


def topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic matching: ``*`` is exactly one word, ``#`` zero or more words."""
    p_words = pattern.split(".") if pattern else []
    k_words = key.split(".") if key else []

    def match(i: int, j: int) -> bool:
        if i == len(p_words):
            return j == len(k_words)
        if p_words[i] == "#":
            return any(match(i + 1, jj) for jj in range(j, len(k_words) + 1))
        if j == len(k_words):
            return False
        return (p_words[i] == "*" or p_words[i] == k_words[j]) and match(i + 1, j + 1)

    return match(0, 0)


def binding_matches(kind: str, binding_key: str, routing_key: str) -> bool:
    """Whether a binding with ``binding_key`` on an exchange of ``kind`` takes ``routing_key``."""
    if kind == "fanout":
        return True
    if kind == "direct":
        return binding_key == routing_key
    return topic_matches(binding_key, routing_key)


@dataclass(frozen=True, slots=True)
class Binding:
    """A queue bound to an exchange with a binding key (a pattern for topic exchanges)."""

    queue: Queue
    key: str = ""


class Exchange:
    """Routes published messages to bound queues (``fanout``, ``direct`` or ``topic``).

    Args:
        name: Exchange name (``""`` is the default exchange every queue is bound to).
        kind: One of :data:`EXCHANGE_KINDS`.
    """

    def __init__(self, name: str, kind: str = "direct"):
        self.name = name
        self.kind = check_choice("kind", kind, EXCHANGE_KINDS, f"exchange {name}")
        self.bindings: list[Binding] = []

    def __repr__(self) -> str:
        return f"Exchange({self.name!r}, {self.kind!r}, bindings={len(self.bindings)})"

    def bind(self, queue: Queue, key: str = "") -> None:
        """Bind ``queue`` with the binding ``key``."""
        self.bindings.append(Binding(queue, key))

    def route(self, routing_key: str) -> list[Queue]:
        """The queues a message with ``routing_key`` goes to, in binding order, each once."""
        out: list[Queue] = []
        for binding in self.bindings:
            if binding_matches(self.kind, binding.key, routing_key) and binding.queue not in out:
                out.append(binding.queue)
        return out
