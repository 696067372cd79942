"""Faults as data: a :class:`FaultPlan` is a printable, YAML-serialisable list of timed faults.

Kinds (``Fault.kind``) and what they use:

================== ======================================= ===============================
kind               targets                                  value
================== ======================================= ===============================
partition          ``groups``: lists of node names          -
one-way-partition  ``nodes``: (src, dst), src -> dst cut    -
heal               -  (ends every partition)                -
slow-link          ``nodes``: (), (node,) or (a, b)         latency multiplier (> 0)
loss               ``nodes``: (), (node,) or (a, b)         loss probability
duplication        ``nodes``: (), (node,) or (a, b)         duplication probability
crash              ``nodes``: (node,)                       -
restart            ``nodes``: (node,)  (ends its crashes)   -
clock-skew         ``nodes``: (node,)                       skew in seconds
================== ======================================= ===============================

For link kinds, ``nodes=()`` means every link, ``(node,)`` every link to or from the node and
``(a, b)`` the link between them, both directions. Everything a kind does is in its entry of
:data:`KINDS` (see :mod:`labsim.faults.kinds`).

**Active faults and overlaps.** A fault is *active* from its start until its ``until``, or
until a ``heal`` (partitions) or ``restart`` (crashes) ends it; ``heal`` and ``restart`` are
points in time, never active themselves. The network keeps the set of active faults
(:attr:`Network.active_faults <labsim.network.Network.active_faults>`) and, whenever one starts
or ends, recomputes its state from its own settings plus every active fault:

* a node is down while *any* active crash covers it; ``restart`` ends every crash active on
  that node at that moment, and a node's restart hooks run only when it goes from down to up;
* a link's loss and duplication are the largest of the network's own setting and every active
  fault covering that link; its latency factor is the largest factor of the active slow-link
  faults covering it (the link's own factor, 1 by default, when there are none);
* a link is cut while any active partition or one-way partition cuts it; ``heal`` ends every
  active partition and one-way partition;
* with several active clock skews on one node, the one started last counts; when none is
  left the node is back to its own skew (0 unless ``Network.set_clock`` set another).

So a fault that ends takes away only its own effect: an inner fault ending inside an outer
one of the same kind leaves the outer one in force.

**Every fault is a row.** Faults started by a plan (:meth:`FaultPlan.apply`), by
:class:`RandomCrashes`, or directly by model code (``network.crash(name)``,
``network.restart(name)``, ``network.partition(...)``, ``network.heal()``) all pass through
:meth:`Network.start_fault <labsim.network.Network.start_fault>` and
:meth:`Network.end_fault <labsim.network.Network.end_fault>`, which record the network's
``faults`` table (``{name}.faults`` for a network not named ``net``): time, kind, action
(``start`` / ``end``), target, value. A ``heal`` or ``restart`` is one ``start`` row followed
by an ``end`` row for each fault it ends. :func:`fault_intervals` turns the table into
intervals for shading plots.

:func:`chaos` makes a seeded random plan with a fault phase followed by a heal phase, the
shape of a Jepsen test: safety while faults happen, liveness after.
"""

from labsim.faults.chaos import RandomCrashes, chaos
from labsim.faults.kinds import FAULT_KINDS, KINDS, Effects, Fault, FaultKind
from labsim.faults.plan import FaultPlan
from labsim.metrics import fault_intervals

__all__ = [
    "FAULT_KINDS",
    "KINDS",
    "Effects",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "RandomCrashes",
    "chaos",
    "fault_intervals",
]
