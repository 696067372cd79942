"""Checked claims and the figure check: each passes good input and fails bad input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from labsim.claims import ClaimError, claim
from labsim.figure_check import FigureProblem, figure_problems, install
from labsim.plots import COLORS, use_style

use_style()  # the lab's colour cycle, as in every lesson


def test_a_claim_that_holds_prints_a_checked_line(capsys):
    claim("the outbox leaves no zombie", 0 == 0, "0 zombies")
    assert capsys.readouterr().out == "✓ the outbox leaves no zombie (0 zombies)\n"


def test_a_claim_that_does_not_hold_stops_the_lesson():
    with pytest.raises(ClaimError, match="the outbox leaves no zombie"):
        claim("the outbox leaves no zombie", 3 == 0, "3 zombies")


def _good():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 2], label="sent", color=COLORS["ok"])
    ax.set(title="Sent per second", xlabel="time (s)", ylabel="messages per second")
    ax.legend()
    return fig


def test_a_labelled_figure_passes():
    fig = _good()
    assert figure_problems(fig) == []
    plt.close(fig)


@pytest.mark.parametrize(
    "spoil, problem",
    [
        (lambda ax: ax.set_title(""), "no title"),
        (lambda ax: ax.set_xlabel(""), "x axis has no label"),
        (lambda ax: ax.set_ylabel(""), "y axis has no label"),
        (lambda ax: (ax.plot([], [], label="empty"), ax.legend()), "'empty' draws nothing"),
        (lambda ax: (ax.plot([0], [1], label="sent"), ax.legend()), "more than once"),
        (lambda ax: ax.plot([0, 1], [2, 1], color="tab:red"), "['#d62728'] are not in the lab"),
        (lambda ax: ax.axvspan(0, 1, color="#ffcccc", alpha=0.3), "not in the lab palette"),
        (lambda ax: ax.scatter([0], [1], color="lime"), "['#00ff00'] are not in the lab"),
    ],
)
def test_each_problem_is_found(spoil, problem):
    fig = _good()
    spoil(fig.axes[0])
    found = figure_problems(fig)
    plt.close(fig)
    assert any(problem in p for p in found), found


def test_palette_colours_greys_and_colour_maps_pass():
    fig = _good()
    ax = fig.axes[0]
    ax.axvspan(0, 0.5, color=COLORS["faulty"], alpha=0.15)  # a tint of a palette colour
    ax.axhline(1.5, color="0.6", linestyle="--")  # a grey reference line
    ax.bar([0.2], [1.5], color=COLORS["good"], edgecolor="white")
    ax.scatter([0, 1], [1, 2], c=[0.1, 0.9], cmap="viridis")  # coloured by its values
    assert figure_problems(fig) == []
    plt.close(fig)


def test_bars_of_counts_need_whole_ticks():
    fig, ax = plt.subplots()
    ax.bar(["a", "b"], [1, 2])
    ax.set(title="Orders", xlabel="design", ylabel="orders", yticks=[0, 0.5, 1, 1.5, 2])
    assert any("fractional ticks" in p for p in figure_problems(fig))
    ax.set_yticks([0, 1, 2])
    assert figure_problems(fig) == []
    plt.close(fig)


def test_a_suptitle_titles_every_panel():
    fig, axes = plt.subplots(1, 2)
    for ax in axes:
        ax.plot([0, 1], [0, 1])
        ax.set(xlabel="time (s)", ylabel="lag (events)")
    fig.suptitle("Lag before and after")
    assert figure_problems(fig) == []
    plt.close(fig)


def test_installed_check_stops_show_on_a_bad_figure(monkeypatch):
    monkeypatch.setattr(plt, "show", plt.show)  # put the plain show back afterwards
    install()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    with pytest.raises(FigureProblem, match="no title"):
        plt.show()
    plt.close(fig)
    _good()
    plt.show()  # passes
    plt.close("all")
