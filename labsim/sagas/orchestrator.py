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
from dataclasses import dataclass, field
from typing import Any

from labsim.events import Event
from labsim.eventsourcing.store import InMemoryEventStore
from labsim.faults import RandomCrashes
from labsim.network import Node
from labsim.sagas.definition import SagaDefinition, Step
from labsim.sagas.messages import Command, Failed, SagaMessageLog, Succeeded
from labsim.transport import Endpoint

__all__ = ["ORDER_SAGA", "Orchestrator", "SagaProgress"]

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


@dataclass(slots=True)
class SagaProgress:
    """Where one saga stands, as its stream in the saga log tells it.

    Attributes:
        args: The saga's arguments (from ``saga.started``).
        next_step: Index of the next step to perform.
        done: Indexes of the steps that succeeded, in order.
        compensating: Whether a step failed (the saga is undoing what it did).
        compensated: Indexes of the steps already compensated.
    """

    args: dict[str, Any] = field(default_factory=dict)
    next_step: int = 0
    done: list[int] = field(default_factory=list)
    compensating: bool = False
    compensated: set[int] = field(default_factory=set)


class Orchestrator:
    """Runs sagas of one definition from its node.

    Args:
        node: The node it runs on (its network and world follow from it).
        definition: The saga definition.
        crash_rate: Probability of crashing at each logged decision (before ``faults_until``).
        faults_until: No crashes after this time.
        restart_after: Seconds until a crashed orchestrator restarts.
        recover: Resume unfinished sagas from the log after a restart (turn off to see why
            the log matters: crashed sagas then stay half done).
    """

    def __init__(
        self,
        node: Node,
        definition: SagaDefinition = ORDER_SAGA,
        *,
        crash_rate: float = 0.0,
        faults_until: float = 0.0,
        restart_after: float = 0.5,
        recover: bool = True,
    ):
        self.world = world = node.network.world
        self.definition = definition
        self.node = node
        self.log = InMemoryEventStore()  # durable: survives the node's crashes
        self._rng = world.rng(node.name)
        self._crashes = RandomCrashes(
            node.network, node.name, crash_rate, faults_until, restart_after, self._rng
        )
        self.endpoint = Endpoint.of(node.network, node.name)
        self._timeline = world.table("sagas", ("time", "saga", "event", "step", "detail")).add
        self._messages = SagaMessageLog(world)
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
            cause.caused(event_type, data, source=self.node.name)
            if cause is not None
            else Event(event_type, data, source=self.node.name, correlation_id=saga_id)
        )
        self.log.append(stream, [event])
        self._timeline(self.world.now, saga_id, event_type, step, str(data.get("reason", "")))
        return event

    def _recover(self, node: Node) -> None:
        for stream in sorted({e.stream_id for e in self.log.read_all()}):
            history = self.log.read_stream(stream)
            if history[-1].event_type not in _TERMINAL:
                node.process(self._run(stream.removeprefix("saga-")))

    def _progress(self, saga_id: str) -> SagaProgress:
        """Where saga ``saga_id`` stands, replayed from its stream in the saga log."""
        progress = SagaProgress()
        for e in self.log.read_stream(f"saga-{saga_id}"):
            if e.event_type == "saga.started":
                progress.args = e.data["args"]
            elif e.event_type == "step.succeeded":
                progress.done.append(e.data["index"])
            elif e.event_type == "step.failed":
                progress.compensating = True
            elif e.event_type == "compensation.done":
                progress.compensated.add(e.data["index"])
        progress.next_step = (max(progress.done) + 1) if progress.done else 0
        return progress

    def _call(
        self, saga_id: str, step: Step, command: str, key: Any, args: dict[str, Any]
    ) -> Generator[Any, Any, Succeeded | Failed]:
        # Retry until the participant answers: a timeout says nothing about what happened.
        while True:
            history = self.log.read_stream(f"saga-{saga_id}")
            cause = history[-1].event_id if history else None
            command_event = Event(
                f"{step.service}.{command}",
                {"saga": saga_id},
                source=self.node.name,
                correlation_id=saga_id,
                causation_id=cause,
            )
            self._messages.record(command_event, step.service)
            msg = Command(key, command, {"saga": saga_id, **args}, command_event.event_id)
            match (yield from self.endpoint.call(step.service, msg, step.timeout)):
                case Succeeded() | Failed() as reply:
                    return reply
                case None:  # no answer in time: send the command again
                    continue

    def _run(self, saga_id: str) -> Generator[Any, Any, None]:
        steps = self.definition.steps
        progress = self._progress(saga_id)
        args, done = progress.args, progress.done
        i, compensating = progress.next_step, progress.compensating
        while not compensating and i < len(steps):
            step = steps[i]
            reply = yield from self._call(saga_id, step, step.action, (saga_id, i, "action"), args)
            match reply:
                case Succeeded():
                    self._append(saga_id, "step.succeeded", {"index": i}, step.name)
                    done.append(i)
                    i += 1
                case Failed() if step.kind == "retriable":
                    yield self.world.env.timeout(step.timeout)  # retry until it succeeds
                    continue
                case Failed(data=data):
                    self._append(saga_id, "step.failed", {"index": i, **data}, step.name)
                    compensating = True
            if self._crashes.maybe():
                return
        if compensating:
            for j in sorted(done, reverse=True):
                step = steps[j]
                if j in progress.compensated or step.compensation is None:
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
