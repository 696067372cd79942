"""State-based CRDTs with value semantics.

Every operation and every ``merge`` returns a **new** object; ``==`` compares state; ``.value``
reads it. ``merge`` is commutative, associative and idempotent, so replicas that have seen the
same updates — in any order, any number of times — hold equal states (strong eventual
consistency). Merging two different CRDT types raises :class:`~labsim.ConfigError`.

Bad input to an operation raises :class:`~labsim.ConfigError` naming the operation: a replica
id is a non-empty string or an integer; an amount is an integer >= 0 (NumPy integers are
accepted, ``bool``, floats and NaN are not); set elements and register values must be
hashable (and not NaN, which is not equal to itself); an LWW timestamp is a finite number or
a tuple of finite numbers (an HLC ``(l, c)``), and registers stamped one way never merge with
registers stamped the other way (or with tuples of another length).

=============== ============================ =============================================
type            operations                   value
=============== ============================ =============================================
GCounter        increment(replica, amount)   sum of per-replica counts
PNCounter       increment / decrement        increments minus decrements
GSet            add(element)                 elements ever added
TwoPSet         add / remove                 added minus removed (removal is final)
LWWRegister     assign(value, ts, replica)   value of the greatest (timestamp, replica)
MVRegister      assign(value, replica)       frozenset of concurrent values (siblings)
ORSet           add(element, replica),       elements with an add not covered by a remove
                remove(element)              (add wins over a concurrent remove)
=============== ============================ =============================================
"""

from labsim.replication.crdt.base import CRDT, VersionVector, canonical
from labsim.replication.crdt.counters import GCounter, PNCounter
from labsim.replication.crdt.registers import LWWRegister, MVRegister
from labsim.replication.crdt.sets import GSet, ORSet, TwoPSet

__all__ = [
    "CRDT",
    "GCounter",
    "GSet",
    "LWWRegister",
    "MVRegister",
    "ORSet",
    "PNCounter",
    "TwoPSet",
    "VersionVector",
    "canonical",
]
