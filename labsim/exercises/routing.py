"""Exercises of lesson 05: a topic exchange's matching rule, and choosing a broker."""

from __future__ import annotations

import re
from collections.abc import Callable

from labsim.amqp import topic_matches
from labsim.exercises.base import ExerciseResult, add_quiz, diagnose

__all__ = ["TOPIC_CASES", "check_topic_match"]

#: (binding pattern, routing key) pairs the topic-matching answer is checked on.
TOPIC_CASES = (
    ("order.created", "order.created"),
    ("order.*", "order.created"),
    ("order.*", "order.created.eu"),
    ("order.#", "order"),
    ("order.#", "order.created.eu"),
    ("*.failed.#", "payment.failed"),
    ("*.failed.#", "failed"),
    ("#", "stock"),
    ("order.*.eu", "order.created.eu"),
    ("order.*.eu", "order.eu"),
    ("order", "order.created"),
)


def _star_any(pattern: str, key: str) -> bool:
    # ``*`` taken for "any number of words" (a shell glob).
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\#", ".*")
    return re.fullmatch(regex, key) is not None


def _hash_one_or_more(pattern: str, key: str) -> bool:
    # ``#`` taken for "one or more words".
    p, k = pattern.split("."), key.split(".")

    def match(i: int, j: int) -> bool:
        if i == len(p):
            return j == len(k)
        if p[i] == "#":
            return any(match(i + 1, jj) for jj in range(j + 1, len(k) + 1))
        return j < len(k) and p[i] in ("*", k[j]) and match(i + 1, j + 1)

    return match(0, 0)


def _prefix(pattern: str, key: str) -> bool:
    # A binding key taken as a prefix of the routing key (words compared, wildcards allowed).
    p, k = pattern.split("."), key.split(".")
    return len(k) >= len(p) and all(a in ("*", "#", b) for a, b in zip(p, k, strict=False))


def check_topic_match(answer: Callable[[str, str], bool]) -> ExerciseResult:
    """Check ``answer(pattern, key)``: does a topic binding ``pattern`` take routing ``key``?

    Words are separated by dots; ``*`` matches exactly one word, ``#`` zero or more.
    """
    return diagnose(
        "topic matching",
        answer,
        TOPIC_CASES,
        topic_matches,
        [
            (
                _star_any,
                "`*` is exactly ONE word: 'order.*' takes 'order.created' but not "
                "'order.created.eu' (that needs 'order.#')",
            ),
            (
                _hash_one_or_more,
                "`#` matches ZERO or more words: 'order.#' takes 'order' itself, and "
                "'*.failed.#' takes 'payment.failed'",
            ),
            (
                _prefix,
                "a binding key is not a prefix: the whole routing key must be matched, so "
                "'order' does not take 'order.created'",
            ),
            (
                lambda p, k: p == k,
                "that is a direct exchange's rule; a topic binding has wildcards",
            ),
        ],
        "split both on '.', then walk them: a plain word must equal the key's word, `*` takes "
        "exactly one word, `#` any number (zero included)",
        "`*` is one word, `#` zero or more, and the whole key must match",
        equal=lambda got, want: isinstance(got, bool) and got == want,
    )


add_quiz(
    "broker choice",
    {
        "a new fraud service must read the last 30 days of orders, already consumed by billing": (
            "kafka",
            {
                "rabbitmq": "an acknowledged message is gone from a RabbitMQ queue: the late "
                "reader got 0 in the comparison table",
                "cloudqueue": "a deleted message is gone from a cloud queue: nothing to replay",
            },
        ),
        "route `payment.failed.*` to alerts and everything to audit, by pattern": (
            "rabbitmq",
            {
                "kafka": "Kafka routes by topic and partition, not by pattern on a routing key: "
                "each consumer would read everything and filter",
                "cloudqueue": "a cloud queue has no exchanges or bindings: one queue, one stream",
            },
        ),
        "thumbnail jobs, any order, no broker to operate, each retried on its own": (
            "cloudqueue",
            {
                "kafka": "a Kafka partition retries in place: one slow job holds up its whole "
                "partition, and you run the cluster",
                "rabbitmq": "it works, but you operate the broker; nothing here needs routing",
            },
        ),
        "per-customer order kept while 12 consumers share the load": (
            "kafka",
            {
                "rabbitmq": "competing consumers plus requeue broke per-key order in the "
                "side-by-side plot",
                "cloudqueue": "a cloud queue (standard) keeps no order at all",
            },
        ),
    },
)
