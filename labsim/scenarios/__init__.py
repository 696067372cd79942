"""Ready-made scenarios, one per lesson: ``run(params, seed) -> Result``.

Each scenario module has a frozen, validated parameter dataclass and a ``run`` function; the
same function serves notebooks, sweeps and tests.
"""

__all__ = ["network"]
