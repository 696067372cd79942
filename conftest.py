"""Pytest configuration shared by the unit tests and the notebooks (nbval)."""

import os

# Progress bars write to stderr and vary between runs: keep them out of test output.
os.environ.setdefault("LABSIM_PROGRESS", "0")


def pytest_collectstart(collector):
    """Compare notebook outputs on text/plain only.

    DataFrame HTML changes between pandas versions, and figures are not compared (their key
    numbers are printed as text instead).
    """
    if str(getattr(collector, "path", "")).endswith(".ipynb"):
        collector.skip_compare += ("text/html", "image/svg+xml", "application/javascript")
