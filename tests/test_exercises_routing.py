"""Lesson 05's exercises: the topic-matching checker and the broker-choice quiz."""

import pytest

from labsim.amqp import topic_matches
from labsim.exercises import check_quiz, check_topic_match
from labsim.exercises.base import QUIZZES
from labsim.exercises.routing import TOPIC_CASES


def _glob(pattern, key):
    import fnmatch

    return fnmatch.fnmatchcase(key, pattern.replace("#", "*"))


def _hash_needs_a_word(pattern, key):
    p, k = pattern.split("."), key.split(".")
    if p and p[-1] == "#":
        return len(k) > len(p) - 1 and topic_matches(pattern, key)
    return topic_matches(pattern, key) and not (
        pattern.startswith("*.failed") and key.count(".") == 1
    )


def test_the_model_answer_passes():
    result = check_topic_match(topic_matches)
    assert result.passed and "one word" in result.message


def test_the_cases_cover_every_rule():
    # Each rule has a case where it decides the answer: both answers occur for each wildcard.
    by_wildcard = {w: {topic_matches(p, k) for p, k in TOPIC_CASES if w in p} for w in "*#"}
    assert by_wildcard == {"*": {True, False}, "#": {True, False}}
    assert {topic_matches(p, k) for p, k in TOPIC_CASES} == {True, False}


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (_glob, "exactly ONE word"),
        (_hash_needs_a_word, "ZERO or more"),
        (lambda p, k: k.startswith(p.rstrip(".#*")), "walk them"),
        (lambda p, k: p == k, "direct exchange"),
        (lambda p, k: None, "returns None"),
        (lambda p, k: 1 / 0, "raised"),
        (lambda p, k: "yes", "expected"),
    ],
)
def test_wrong_answers_fail_with_a_hint(answer, hint):
    result = check_topic_match(answer)
    assert not result.passed
    assert hint in result.message


def test_the_broker_choice_quiz_explains_a_wrong_choice():
    right = {q: a for q, (a, _) in QUIZZES["broker choice"].items()}
    assert check_quiz("broker choice", right).passed
    replay = next(q for q in right if "30 days" in q)
    wrong = check_quiz("broker choice", {**right, replay: "rabbitmq"})
    assert not wrong.passed and "late reader got 0" in wrong.message
