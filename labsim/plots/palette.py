"""The lab's colours: the colour-blind-safe Okabe–Ito palette and the colour of each role."""

from __future__ import annotations

__all__ = ["COLORS", "CYCLE", "FAULT_COLORS", "PALETTE"]

#: The Okabe–Ito palette (Okabe & Ito 2008), distinguishable with every common form of colour
#: blindness. Every colour in the lab's figures comes from here.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#999999",
}

#: The default colour cycle set by :func:`use_style` (yellow last: it is faint on white).
CYCLE = [
    PALETTE[name]
    for name in ("blue", "orange", "green", "vermillion", "sky", "purple", "black", "yellow")
]

#: Colours by role, so that the same meaning has the same colour in every figure.
COLORS = {
    "ok": PALETTE["blue"],  # the normal flow: delivered messages, healthy nodes, lag
    "good": PALETTE["green"],  # a desired outcome: exactly once, committed, effect applied once
    "faulty": PALETTE["vermillion"],  # failures: lost, dropped, crashed, partitioned, a limit
    "hot": PALETTE["vermillion"],  # the hot key / hot partition
    "warning": PALETTE["orange"],  # degraded: duplicates, retries, rebalances, slow links
    "jitter": PALETTE["orange"],  # runs with jitter, next to "ok" for runs without
    "other": PALETTE["purple"],  # a third outcome (e.g. ghost, compensated)
    "secondary": PALETTE["sky"],  # a second series of the normal kind
    "neutral": PALETTE["grey"],  # reference lines, down or idle things, background
    "ink": PALETTE["black"],  # text and thresholds drawn in black
}

#: Colour per fault kind, shared by every plot that shades faults.
FAULT_COLORS = {
    "partition": PALETTE["vermillion"],
    "one-way-partition": PALETTE["purple"],
    "slow-link": PALETTE["orange"],
    "loss": PALETTE["sky"],
    "duplication": PALETTE["yellow"],
    "crash": PALETTE["grey"],
    "clock-skew": PALETTE["green"],
}
