"""An orchestrated saga with an event-sourced saga log.

The orchestrator runs each saga's steps in order by sending commands to the participants
(with idempotency keys), compensates the completed steps in reverse order when a step before
the pivot fails, and pushes forward after the pivot. Every decision is appended to the saga's
stream in the saga log (an event store that survives crashes); a restarted orchestrator reads
the log and resumes every unfinished saga where it stood. Commands are retried until the
participant gives a definite answer, so timeouts during faults delay a saga but never leave
it half done once the faults heal.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from labsim.events import Event
from labsim.eventsourcing.store import InMemoryEventStore
from labsim.faults import RandomCrashes
from labsim.network import Network, Node
from labsim.sagas.definition import SAGA_MESSAGE_COLUMNS, SagaDefinition, Step
from labsim.transport import Endpoint
from labsim.world import World

__all__ = ["ORDER_SAGA", "Orchestrator"]

#: The order flow of the lessons: create → reserve → charge (pivot) → ship → approve.
ORDER_SAGA = SagaDefinition(
    "order",
    (
        Step("create_order", "order", "create", "cancel"),
        Step("reserve_stock", "inventory", "reserve", "release"),
        Step("charge_payment", "payment", "charge", kind="pivot"),
        Step("schedule_shipping", "shipping", "schedule", kind="retriable"),
        Step("approve_order", "order", "approve", kind="retriable"),
    ),
)

_TERMINAL = ("saga.completed", "saga.compensated")


class Orchestrator:
    """Runs sagas of one definition from the node ``orchestrator``.

    Args:
        world, network: Where it runs.
        definition: The saga definition.
        crash_rate: Probability of crashing at each logged decision (before ``faults_until``).
        faults_until: No crashes after this time.
        restart_after: Seconds until a crashed orchestrator restarts.
        recover: Resume unfinished sagas from the log after a restart (turn off to see why
            the log matters: crashed sagas then stay half done).
    """

    def __init__(
        self,
        world: World,
        network: Network,
        definition: SagaDefinition = ORDER_SAGA,
        *,
        crash_rate: float = 0.0,
        faults_until: float = 0.0,
        restart_after: float = 0.5,
        node: str = "orchestrator",
        recover: bool = True,
    ):
        self.world = world
        self.network = network
        self.definition = definition
        self.node: Node = network.node(node)
        self.log = InMemoryEventStore()  # durable: survives the node's crashes
        self._rng = world.rng("orchestrator")
        self._crashes = RandomCrashes(
            network, node, crash_rate, faults_until, restart_after, self._rng
        )
        self.endpoint = Endpoint.of(network, node)
        self._timeline = world.table("sagas", ("time", "saga", "event", "step", "detail")).add
        self._messages = world.table("saga_messages", SAGA_MESSAGE_COLUMNS).add
        if recover:
            self.node.on_restart(self._recover)

    def start(self, saga_id: str, args: dict[str, Any]) -> None:
        """Begin a saga (the client's request reached the orchestrator)."""
        self._append(saga_id, "saga.started", {"args": args})
        self.node.process(self._run(saga_id))

    def _append(self, saga_id: str, event_type: str, data: dict[str, Any], step: str = "") -> Event:
        stream = f"saga-{saga_id}"
        history = self.log.read_stream(stream)
        cause = history[-1].event if history else None
        event = (
            cause.caused(event_type, data, source="orchestrator")
            if cause is not None
            else Event(event_type, data, source="orchestrator", correlation_id=saga_id)
        )
        self.log.append(stream, [event])
        self._timeline(self.world.now, saga_id, event_type, step, str(data.get("reason", "")))
        return event

    def _recover(self, node: Node) -> None:
        for stream in sorted({e.stream_id for e in self.log.read_all()}):
            history = self.log.read_stream(stream)
            if history[-1].event_type not in _TERMINAL:
                node.process(self._run(stream.removeprefix("saga-")))

    def _state(self, saga_id: str) -> tuple[dict[str, Any], int, list[int], bool, set[int]]:
        """From the log: args, next step, steps done, compensating?, compensations done."""
        args: dict[str, Any] = {}
        done: list[int] = []
        compensating = False
        compensated: set[int] = set()
        for e in self.log.read_stream(f"saga-{saga_id}"):
            if e.event_type == "saga.started":
                args = e.data["args"]
            elif e.event_type == "step.succeeded":
                done.append(e.data["index"])
            elif e.event_type == "step.failed":
                compensating = True
            elif e.event_type == "compensation.done":
                compensated.add(e.data["index"])
        next_step = (max(done) + 1) if done else 0
        return args, next_step, done, compensating, compensated

    def _call(
        self, saga_id: str, step: Step, command: str, key: Any, args: dict[str, Any]
    ) -> Generator[Any, Any, tuple[str, dict[str, Any]]]:
        # Retry until the participant answers: a timeout says nothing about what happened.
        while True:
            history = self.log.read_stream(f"saga-{saga_id}")
            cause = history[-1].event_id if history else None
            command_event = Event(
                f"{step.service}.{command}",
                {"saga": saga_id},
                source="orchestrator",
                correlation_id=saga_id,
                causation_id=cause,
            )
            self._messages(
                self.world.now,
                command_event.event_id,
                command_event.event_type,
                saga_id,
                cause,
                "orchestrator",
                step.service,
            )
            reply = yield from self.endpoint.call(
                step.service,
                "command",
                (key, command, {"saga": saga_id, **args}, command_event.event_id),
                step.timeout,
            )
            if reply is not None:
                outcome, data, _reply_id = reply
                return outcome, data

    def _run(self, saga_id: str) -> Generator[Any, Any, None]:
        steps = self.definition.steps
        args, i, done, compensating, compensated = self._state(saga_id)
        while not compensating and i < len(steps):
            step = steps[i]
            outcome, data = yield from self._call(
                saga_id, step, step.action, (saga_id, i, "action"), args
            )
            if outcome == "ok":
                self._append(saga_id, "step.succeeded", {"index": i}, step.name)
                done.append(i)
                i += 1
            elif step.kind == "retriable":
                yield self.world.env.timeout(step.timeout)  # retry until it succeeds
                continue
            else:
                self._append(saga_id, "step.failed", {"index": i, **data}, step.name)
                compensating = True
            if self._crashes.maybe():
                return
        if compensating:
            for j in sorted(done, reverse=True):
                step = steps[j]
                if j in compensated or step.compensation is None:
                    continue
                yield from self._call(
                    saga_id, step, step.compensation, (saga_id, j, "compensation"), args
                )
                self._append(saga_id, "compensation.done", {"index": j}, step.name)
                if self._crashes.maybe():
                    return
            self._append(saga_id, "saga.compensated", {})
        else:
            self._append(saga_id, "saga.completed", {})
