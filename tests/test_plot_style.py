"""The lab's figure style: a colour-blind-safe palette, named roles, readable font sizes."""

from __future__ import annotations

import matplotlib as mpl
import pytest

from labsim import plots
from labsim.exercises.base import ExerciseResult

OKABE_ITO = {
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
    "#999999",  # the grey usually added to the eight
}  # fmt: skip


def test_every_lab_colour_comes_from_the_palette():
    assert set(plots.PALETTE.values()) == OKABE_ITO
    assert set(plots.CYCLE) <= OKABE_ITO
    assert set(plots.COLORS.values()) <= OKABE_ITO
    assert set(plots.FAULT_COLORS.values()) <= OKABE_ITO
    assert {"ok", "good", "faulty", "hot", "warning", "jitter", "neutral"} <= set(plots.COLORS)
    # ok and faulty, the pair most figures contrast, differ for every viewer
    assert plots.COLORS["ok"] != plots.COLORS["faulty"]


def test_use_style_sets_the_cycle_and_readable_fonts():
    with mpl.rc_context():
        plots.use_style()
        assert mpl.rcParams["axes.prop_cycle"].by_key()["color"] == plots.CYCLE
        assert mpl.rcParams["font.size"] >= 11
        assert mpl.rcParams["axes.titlesize"] == 13


@pytest.mark.parametrize("passed, mark", [(True, "✓ Correct"), (False, "✗ Not yet")])
def test_exercise_marks_are_in_plain_fonts(passed, mark):
    # U+2713 and U+2717 are in DejaVu Sans (Mono); the emoji ✅ ❌ need an emoji font.
    text = str(ExerciseResult("x", passed, "why"))
    assert text == f"{mark} (x): why"
    assert all(ord(c) < 0x2800 for c in text)


def test_label_bars_writes_every_value_a_zero_too():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.bar(["a", "b"], [0, 20])
    ax.bar(["a", "b"], [3.5, 0], bottom=[0, 20])
    plots.label_bars(ax)
    labels = [t.get_text() for t in ax.texts]
    plt.close(fig)
    assert labels == ["0", "20", "3.5", "0"]
