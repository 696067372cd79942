"""The challenge ladder: the learner writes one component, labsim grades it under chaos.

Each challenge (:data:`CHALLENGES`) names the class to write, its invariant, numeric targets
and the fault kinds it uses. :func:`check` runs the class under many seeded chaos plans; a
failure comes back shrunk to the smallest fault plan and message count that still break the
same target, with the command that replays exactly that case, a compact trace and a
space-time diagram::

    from labsim.challenges import check
    report = check("idempotent-consumer", "my_consumer.py")
    print(report.text)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labsim.challenges.base import Challenge, LearnerError, Target
from labsim.challenges.cart import CHALLENGE as _CART
from labsim.challenges.commit import CHALLENGE as _COMMIT
from labsim.challenges.consumer import CHALLENGE as _CONSUMER
from labsim.challenges.gossip import CHALLENGE as _BROADCAST
from labsim.challenges.grade import Case, Report, grade, load_class
from labsim.challenges.projection import CHALLENGE as _PROJECTION
from labsim.challenges.relay import CHALLENGE as _RELAY
from labsim.challenges.report import draw, format_report, replay_command, trace_text
from labsim.challenges.retry import CHALLENGE as _RETRY
from labsim.challenges.saga import CHALLENGE as _SAGA
from labsim.errors import ConfigError
from labsim.faults import FaultPlan

__all__ = [
    "CHALLENGES",
    "Case",
    "Challenge",
    "CheckResult",
    "LearnerError",
    "Report",
    "Target",
    "check",
    "draw",
    "get",
    "load_class",
    "replay_command",
    "starter",
    "trace_text",
]

#: The ladder, in the order of the issue's ladder (its lesson in brackets).
CHALLENGES: dict[str, Challenge] = {
    c.name: c
    for c in (
        _CONSUMER,  # idempotent-consumer (03)
        _RETRY,  # retry-policy (03)
        _COMMIT,  # commit-strategy (02)
        _PROJECTION,  # projection-checkpoint (08)
        _SAGA,  # saga-orchestrator (09)
        _RELAY,  # outbox-relay (10)
        _CART,  # cart-crdt (11)
        _BROADCAST,  # broadcast (11)
    )
}


def get(name: str) -> Challenge:
    """The challenge ``name`` (ConfigError listing the ladder if unknown)."""
    try:
        return CHALLENGES[name]
    except (KeyError, TypeError):
        raise ConfigError("challenge", name, f"one of {', '.join(CHALLENGES)}") from None


def starter(name: str) -> str:
    """The starter file of challenge ``name``: one class to complete."""
    return get(name).starter


@dataclass
class CheckResult:
    """What :func:`check` returns.

    Attributes:
        report: The full :class:`Report` (figures, the shrunk case, the original case).
        text: The printed report.
    """

    report: Report
    text: str

    @property
    def passed(self) -> bool:
        """Every target held in every run (and the class raised nothing)."""
        return self.report.passed

    @property
    def figures(self) -> dict[str, float]:
        """Worst measured value per target over the runs."""
        return self.report.figures

    @property
    def failure(self) -> Case | None:
        """The shrunk failing case, or ``None``."""
        return self.report.failure

    @property
    def plan(self) -> FaultPlan | None:
        """The shrunk fault plan, or ``None``."""
        return None if self.report.failure is None else self.report.failure.plan

    def draw(self, path: str | Path | None = None) -> object:
        """The space-time diagram of the shrunk case (saved as PNG at ``path`` if given)."""
        if self.report.failure is None:
            raise ConfigError("draw", "passed", "a failed check (nothing to draw)")
        return draw(self.report.failure, path, title=f"{self.report.challenge.name}: shrunk case")

    def __str__(self) -> str:
        return self.text


def check(
    name: str,
    cls_or_path: type | str | Path,
    seeds: int = 20,
    seed: int | None = None,
    exhaustive: bool = False,
    *,
    plan: FaultPlan | None = None,
    messages: int | None = None,
    file: str | None = None,
    trace: bool = True,
) -> CheckResult:
    """Grade a learner's class (or file) against challenge ``name``.

    Args:
        name: The challenge.
        cls_or_path: The class, or a Python file holding it.
        seeds: Chaos plans to try (seeds ``seed``, ``seed + 1``, ...).
        seed: First seed (default 0); with ``seeds=1`` or a ``plan``, the one seed to run.
        exhaustive: Instead of chaos, a crash after every step of the challenge's node, for
            1 to 5 messages.
        plan: Replay this plan exactly (with ``seed`` and ``messages``).
        messages: Message count (default: the challenge's).
        file: Name printed in the replay command.
        trace: Include the compact trace in the text.

    Returns:
        A :class:`CheckResult` with ``passed``, ``figures``, the shrunk ``failure`` and the
        report ``text`` (the same bytes for the same class, seed and options).
    """
    challenge = get(name)
    report = grade(
        challenge, cls_or_path, seeds, seed, plan=plan, size=messages, exhaustive=exhaustive
    )
    shown = file or (str(cls_or_path) if not isinstance(cls_or_path, type) else "FILE.py")
    return CheckResult(report, format_report(report, shown, trace=trace))
