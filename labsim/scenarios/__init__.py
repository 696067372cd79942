"""Ready-made scenarios, one per lesson experiment, all of one shape (:class:`Scenario`).

Each module defines a :class:`Scenario` subclass and exports ``SCENARIO`` (the instance),
``run`` and ``figures`` (its bound methods). The same objects serve notebooks, sweeps, the
command line and tests; :data:`SCENARIOS` lists them by name.
"""

from __future__ import annotations

from labsim.errors import ConfigError
from labsim.scenarios.base import Scenario

__all__ = ["SCENARIOS", "Scenario", "get"]


def _registry() -> dict[str, Scenario]:
    # Imported here, not at the top, so ``labsim.scenarios.base`` loads without them.
    from labsim.scenarios import (
        brokers,
        brokers_compared,
        conflicts,
        cqrs,
        delivery,
        event_design,
        groups,
        late_duplicate,
        network,
        observability,
        outbox,
        pipeline,
        poison_loop,
        queueing,
        rabbitmq,
        rabbitmq_queues,
        retry_storm,
        saga_isolation,
        sagas,
        scaling,
    )

    # In the order of the learning path, as `labsim list` prints them.
    modules = (
        network,
        brokers,
        groups,
        queueing,
        scaling,
        delivery,
        retry_storm,
        poison_loop,
        late_duplicate,
        rabbitmq,
        rabbitmq_queues,
        brokers_compared,
        event_design,
        cqrs,
        sagas,
        saga_isolation,
        outbox,
        conflicts,
        observability,
        pipeline,
    )
    found = {m.SCENARIO.name: m.SCENARIO for m in modules}
    found[event_design.DEPLOY.name] = event_design.DEPLOY  # its second scenario
    return found


SCENARIOS: dict[str, Scenario] = _registry()


def get(name: str) -> Scenario:
    """The scenario ``name`` (ConfigError listing the scenarios if unknown)."""
    try:
        return SCENARIOS[name]
    except (KeyError, TypeError):
        raise ConfigError("scenario", name, f"one of {', '.join(SCENARIOS)}") from None
