"""Replication and conflict resolution: clocks, CRDTs, a gossiping replicated store."""

from labsim.replication.clocks import HybridClock, LamportClock
from labsim.replication.crdt import (
    GCounter,
    GSet,
    LWWRegister,
    MVRegister,
    ORSet,
    PNCounter,
    TwoPSet,
    VersionVector,
)
from labsim.replication.store import POLICIES, RESOLVERS, ReplicatedStore

__all__ = [
    "POLICIES",
    "RESOLVERS",
    "GCounter",
    "GSet",
    "HybridClock",
    "LWWRegister",
    "LamportClock",
    "MVRegister",
    "ORSet",
    "PNCounter",
    "ReplicatedStore",
    "TwoPSet",
    "VersionVector",
]
