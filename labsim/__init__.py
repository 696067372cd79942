"""labsim — see how event-driven architectures behave, in seeded SimPy simulations.

The kernel is a :class:`World` (seed, random streams, recorder); models live in submodules
named after the concepts of the lessons: :mod:`labsim.network`, :mod:`labsim.faults`,
:mod:`labsim.checks`, :mod:`labsim.sweep`, :mod:`labsim.plots`, :mod:`labsim.scenarios`.
"""

from labsim.dists import Constant, Empirical, Exponential, LogNormal, Normal, Uniform
from labsim.errors import ConfigError, ConfigWarning
from labsim.events import Event, causal_graph
from labsim.faults import Fault, FaultPlan, chaos
from labsim.history import History
from labsim.network import Network
from labsim.result import Result
from labsim.world import World, ms

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "ConfigWarning",
    "Constant",
    "Empirical",
    "Event",
    "Exponential",
    "Fault",
    "FaultPlan",
    "History",
    "LogNormal",
    "Network",
    "Normal",
    "Result",
    "Uniform",
    "World",
    "__version__",
    "causal_graph",
    "chaos",
    "ms",
]
