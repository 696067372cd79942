"""Claims a lesson makes about what its plot or table shows, checked when the lesson runs.

A sentence such as "the no-jitter wave is the biggest, right after recovery" is computed from
the frames and printed as a checked line::

    claim("the no-jitter peak is the highest", peak["none"] > peak["full"],
          f"{peak['none']} vs {peak['full']} calls per 50 ms")

prints ``✓ the no-jitter peak is the highest (412 vs 160 calls per 50 ms)`` when it holds and
raises :class:`ClaimError` when it does not — so a lesson whose plot stops matching its text
fails its own run (nbval compares the printed lines; the test that runs every notebook with
another seed makes sure a claim holds for more than one seed).
"""

from __future__ import annotations

__all__ = ["MARK", "ClaimError", "claim"]

#: The mark printed before a claim that holds (a glyph common fonts carry).
MARK = "✓"


class ClaimError(AssertionError):
    """A lesson's claim about its own results does not hold for this run."""


def claim(text: str, holds: object, detail: str = "") -> None:
    """Print ``✓ text (detail)`` if ``holds`` is true, else raise :class:`ClaimError`.

    Args:
        text: The claim, as the lesson states it.
        holds: Whether the frames bear it out (anything with a truth value, numpy included).
        detail: The figures behind it, printed in brackets (rounded: they are compared).
    """
    suffix = f" ({detail})" if detail else ""
    if not bool(holds):
        raise ClaimError(
            f"the lesson claims: {text!r}, but this run does not bear it out{suffix}. "
            "Change the experiment or the claim."
        )
    print(f"{MARK} {text}{suffix}")
