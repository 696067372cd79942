"""The part of :class:`~labsim.network.Network` that keeps its active faults.

Faults are a set of *active* faults: starting or ending one recomputes the affected aspect
(nodes, links, cuts or clocks) from the network's own settings plus every active fault, so
overlapping faults stack (the rules are in :mod:`labsim.faults`). Every start and end is a
row of the network's ``faults`` table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsim.faults.kinds import KINDS, Effects, Fault

if TYPE_CHECKING:
    from labsim.network.hosts import Link, Node
    from labsim.world import World

__all__ = ["ActiveFaults"]


class ActiveFaults:
    """Active-fault bookkeeping, mixed into :class:`~labsim.network.Network`."""

    # Set by Network.__init__.
    world: World
    nodes: dict[str, Node]
    links: dict[tuple[str, str], Link]
    _active: dict[int, Fault]
    _fault_seq: int
    _blocked: Any
    _fault_rows: Any

    @property
    def active_faults(self) -> dict[int, Fault]:
        """The active faults by handle, in the order they started (a copy)."""
        return dict(self._active)

    def start_fault(self, fault: Fault) -> int | None:
        """Start ``fault`` now and record it (a ``start`` row of the faults table).

        A lasting fault stays active until :meth:`end_fault` is called with the returned
        handle, or a ``heal`` / ``restart`` ends it; its ``until`` is not scheduled here
        (:meth:`labsim.faults.FaultPlan.apply` does that). A ``heal`` or ``restart`` ends the
        faults it covers at once and returns ``None``.

        Raises:
            ConfigError: if the fault names a node or link this network lacks.
        """
        kind = KINDS[fault.kind]
        kind.check(self, fault)
        self._fault_rows(self.world.env.now, fault.kind, "start", fault.target, fault.value)
        return kind.start(self, fault)

    def end_fault(self, handle: int) -> bool:
        """End the active fault ``handle`` and record it (an ``end`` row of the faults table).

        Returns:
            ``False`` (and nothing recorded) if that fault is not active any more.
        """
        fault = self._active.get(handle)
        if fault is None:
            return False
        self._fault_rows(self.world.env.now, fault.kind, "end", fault.target, fault.value)
        KINDS[fault.kind].end(self, handle)
        return True

    def _activate(self, fault: Fault, aspect: str) -> int:
        """Add ``fault`` to the active faults and recompute ``aspect`` (for the kind table)."""
        self._fault_seq += 1
        self._active[self._fault_seq] = fault
        self._refresh(aspect)
        return self._fault_seq

    def _deactivate(self, handle: int, aspect: str) -> None:
        """Remove an active fault and recompute ``aspect`` (for the kind table)."""
        del self._active[handle]
        self._refresh(aspect)

    def _effects(self, aspect: str) -> Effects:
        """What the active faults of one aspect ask for, gathered through the kind table."""
        effects = Effects()
        for fault in self._active.values():  # in start order: the latest clock skew wins
            kind = KINDS[fault.kind]
            if kind.aspect == aspect:
                kind.affect(self, fault, effects)
        return effects

    def _refresh(self, aspect: str) -> None:
        """Recompute one aspect of the state from the network's settings and the active faults."""
        if aspect == "nodes":
            # One transition at a time, gathering afresh after each: a restart hook runs model
            # code, which may itself crash or restart nodes.
            while True:
                down = self._effects("nodes").down
                node = next((n for n in self.nodes.values() if n.up == (n.name in down)), None)
                if node is None:
                    return
                if node.up:
                    node.go_down()
                else:
                    node.go_up()
        effects = self._effects(aspect)
        if aspect == "links":
            for pair, link in self.links.items():
                link.loss = max(link.base_loss, effects.loss.get(pair, 0.0))
                link.duplicate = max(link.base_duplicate, effects.duplicate.get(pair, 0.0))
                link.slow = effects.slow.get(pair, link.base_slow)
        elif aspect == "cuts":
            self._blocked = effects.blocked
        elif aspect == "clocks":
            for name, node in self.nodes.items():
                node.skew = effects.skew.get(name, node.base_skew)
