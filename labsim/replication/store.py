"""A replicated key-value store on N replicas over the simulated network.

Any replica accepts writes; replicas exchange their whole state by anti-entropy gossip
(every ``gossip_interval`` each replica sends its state to ``fanout`` random peers). What a
concurrent write does depends on the **resolution policy**:

* ``"lww-physical"`` — last writer wins by the replica's *physical* clock: under clock skew a
  later write can carry an older stamp and lose silently;
* ``"lww-hlc"`` — last writer wins by a hybrid logical clock: causally later writes always win,
  concurrent ones still overwrite each other;
* ``"version-vectors"`` — concurrent writes are kept as **siblings** (a multi-value register);
  the client resolves them on its next read-modify-write (``resolver``);
* ``"crdt"`` — the value is a CRDT (an observed-remove set for carts, a PN-counter for stock):
  merges never lose an update.

Recorded tables: ``writes`` (every acknowledged write), ``divergence`` (distinct replica states
and the most siblings, sampled), ``gossip`` (state exchanges received) and, when asked at the
end of a run, ``replica_state`` (:meth:`ReplicatedStore.record_state`: each replica's value of
each key and the bookkeeping it carries).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Hashable, Sequence
from typing import Any

from labsim.errors import ConfigError, check_choice, check_int, check_positive
from labsim.network import Network
from labsim.replication.clocks import HybridClock
from labsim.replication.crdt import (
    CRDT,
    LWWRegister,
    MVRegister,
    ORSet,
    VersionVector,
    canonical,
)
from labsim.world import World

__all__ = ["POLICIES", "RESOLVERS", "ReplicatedStore"]

POLICIES = ("lww-physical", "lww-hlc", "version-vectors", "crdt")
#: How a client merges siblings before writing (version-vectors policy).
RESOLVERS = {
    "union": lambda siblings: frozenset().union(*siblings) if siblings else frozenset(),
    "pick-one": lambda siblings: max(siblings, key=canonical) if siblings else frozenset(),
}


class ReplicatedStore:
    """Replicas of a key-value store, one per network node.

    Args:
        world: The world.
        network: The network whose nodes host the replicas.
        replicas: Node names of the replicas (>= 2).
        policy: One of :data:`POLICIES`.
        gossip_interval: Seconds between a replica's gossip rounds (> 0).
        fanout: Peers contacted per round (1 .. replicas - 1).
        resolver: For ``version-vectors``: ``"union"`` (a business merge for carts) or
            ``"pick-one"`` (keep one sibling, dropping the others' updates).
        sample_interval: Period of the divergence sampler (seconds).
    """

    def __init__(
        self,
        world: World,
        network: Network,
        replicas: Sequence[str],
        *,
        policy: str = "lww-physical",
        gossip_interval: float = 0.5,
        fanout: int = 1,
        resolver: str = "union",
        sample_interval: float = 0.1,
    ):
        self.world = world
        self.network = network
        self.policy = check_choice("policy", policy, POLICIES, "ReplicatedStore")
        self.gossip_interval = check_positive("gossip_interval", gossip_interval, "ReplicatedStore")
        names = list(replicas)
        if len(names) < 2:
            raise ConfigError("replicas", replicas, "at least two replica nodes", "ReplicatedStore")
        for n in names:
            network.node(n)
        check_int("fanout", fanout, 1, "ReplicatedStore")
        if fanout > len(names) - 1:
            raise ConfigError(
                "fanout", fanout, f"at most replicas - 1 = {len(names) - 1}", "ReplicatedStore"
            )
        self.fanout = fanout
        self.resolve = RESOLVERS[
            check_choice("resolver", resolver, list(RESOLVERS), "ReplicatedStore")
        ]
        self.names = names
        self.data: dict[str, dict[Hashable, CRDT]] = {n: {} for n in names}
        self.hlc = {n: HybridClock(network.node(n).clock) for n in names}
        self._blind_counter = dict.fromkeys(names, 0)
        self._writes = world.table(
            "writes", ("time", "replica", "key", "item", "value"), level="summary"
        ).add
        self._divergence = world.table(
            "divergence", ("time", "distinct_states", "max_siblings"), level="summary"
        ).add
        self._gossip = world.table("gossip", ("time", "src", "dst", "keys")).add
        for n in names:
            node = network.node(n)
            node.process(self._gossip_loop(n))
            node.process(self._receive(n))
            node.on_restart(self._restart)
        world.process(
            self._sample(check_positive("sample_interval", sample_interval, "ReplicatedStore"))
        )

    def _restart(self, node: Any) -> None:
        # Replica state is on disk and survives; the processes start again.
        node.process(self._gossip_loop(node.name))
        node.process(self._receive(node.name))

    # -- client operations ------------------------------------------------------------------
    def _replica(self, replica: str) -> dict[Hashable, CRDT]:
        try:
            return self.data[replica]
        except KeyError:
            raise ConfigError(
                "replica", replica, f"one of {self.names}", "ReplicatedStore"
            ) from None

    def read(self, replica: str, key: Hashable) -> Any:
        """The value of ``key`` at ``replica`` (version-vectors: the frozenset of siblings)."""
        state = self._replica(replica).get(key)
        if state is None:
            return frozenset() if self.policy == "version-vectors" else None
        return state.value

    def write(
        self, replica: str, key: Hashable, value: Any, *, blind: bool = False, item: Any = None
    ) -> None:
        """Write ``value`` at ``replica`` (register policies).

        With ``version-vectors`` a normal write supersedes the siblings this replica has
        seen; ``blind=True`` writes without that context, so it becomes one more sibling.
        ``item`` is what the write adds to a collection (recorded in ``writes`` for the
        lost-update check; ``None``: nothing to check).
        """
        self._write(replica, key, value, blind, item)

    def _write(self, replica: str, key: Hashable, value: Any, blind: bool, item: Any) -> None:
        store = self._replica(replica)
        policy = self.policy
        current = store.get(key)
        if policy == "lww-physical":
            stamp = self.network.node(replica).clock()
            store[key] = (current or LWWRegister()).assign(value, stamp, replica)
        elif policy == "lww-hlc":
            store[key] = (current or LWWRegister()).assign(value, self.hlc[replica].now(), replica)
        elif policy == "version-vectors":
            reg = current or MVRegister()
            if blind:
                self._blind_counter[replica] += 1
                # No context: a fresh actor, so the write is concurrent with everything.
                vv = VersionVector.of({f"{replica}#{self._blind_counter[replica]}": 1})
                store[key] = reg.merge(MVRegister(frozenset({(value, vv)})))
            else:
                store[key] = reg.assign(value, replica)
        else:
            raise ConfigError(
                "policy",
                policy,
                "a register policy for write(); use update() with CRDT operations",
                "ReplicatedStore",
            )
        self._writes(self.world.now, replica, key, item, value)

    def update(self, replica: str, key: Hashable, operation: Callable[[CRDT | None], CRDT]) -> None:
        """Apply a CRDT ``operation(state_or_None) -> new state`` at ``replica`` (crdt policy)."""
        if self.policy != "crdt":
            raise ConfigError("policy", self.policy, "'crdt' for update()", "ReplicatedStore")
        store = self._replica(replica)
        store[key] = operation(store.get(key))
        self._writes(self.world.now, replica, key, None, None)

    def add_item(self, replica: str, key: Hashable, item: Hashable) -> None:
        """Add ``item`` to the set stored at ``key``: read-modify-write, or an OR-set add."""
        if self.policy == "crdt":
            store = self._replica(replica)
            store[key] = (store.get(key) or ORSet()).add(item, replica)
        else:
            current = self.read(replica, key)
            base = (
                self.resolve(current)
                if self.policy == "version-vectors"
                else (current or frozenset())
            )
            self._write(replica, key, frozenset(base) | {item}, False, item)
            return
        self._writes(self.world.now, replica, key, item, None)

    # -- replication ------------------------------------------------------------------------
    def _gossip_loop(self, me: str) -> Generator[Any, Any, None]:
        env = self.world.env
        rng = self.world.rng(f"gossip-{me}")
        peers = [n for n in self.names if n != me]
        yield env.timeout(rng.uniform(0, self.gossip_interval))
        while True:
            for peer in rng.sample(peers, self.fanout):
                stamp = self.hlc[me].now() if self.policy == "lww-hlc" else None
                self.network.send(me, peer, ("gossip", me, dict(self.data[me]), stamp))
            yield env.timeout(self.gossip_interval)

    def _receive(self, me: str) -> Generator[Any, Any, None]:
        inbox = self.network.node(me).inbox
        while True:
            msg = yield inbox.get()
            if not (isinstance(msg, tuple) and msg and msg[0] == "gossip"):
                continue
            _, src, snapshot, stamp = msg
            mine = self.data[me]
            for key, state in snapshot.items():
                here = mine.get(key)
                mine[key] = state if here is None else here.merge(state)
            if stamp is not None:
                self.hlc[me].observe(stamp)
            self._gossip(self.world.now, src, me, len(snapshot))

    def _sample(self, interval: float) -> Generator[Any, Any, None]:
        env = self.world.env
        while True:
            self._divergence(env.now, self.distinct_states(), self.max_siblings())
            yield env.timeout(interval)

    # -- inspection -------------------------------------------------------------------------
    def distinct_states(self) -> int:
        """How many different states the replicas hold (1 = converged)."""
        return len(
            {
                tuple(sorted(((repr(k), s) for k, s in d.items()), key=lambda x: x[0]))
                for d in self.data.values()
            }
        )

    def max_siblings(self) -> int:
        """The most concurrent values any register holds (version-vectors; else 1 or 0)."""
        most = 0
        for d in self.data.values():
            for state in d.values():
                most = max(most, len(state.entries) if isinstance(state, MVRegister) else 1)
        return most

    def record_state(self) -> None:
        """Write each replica's value of each key as table ``replica_state``.

        Columns: ``replica``, ``key``, ``value`` (as :meth:`read` returns it) and
        ``metadata_size`` (the bookkeeping its state carries), so a summary reads the end
        state from frames.
        """
        add = self.world.table(
            "replica_state", ("replica", "key", "value", "metadata_size"), level="summary"
        ).add
        for name in self.names:
            for key, state in self.data[name].items():
                add(name, key, state.value, state.metadata_size)

    def metadata_size(self) -> int:
        """Largest bookkeeping size (timestamps, vector entries, tags) over replicas and keys."""
        return max((s.metadata_size for d in self.data.values() for s in d.values()), default=0)
