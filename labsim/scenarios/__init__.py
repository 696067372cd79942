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
    ordered = (
        network.SCENARIO,  # 00
        brokers.SCENARIO,  # 01
        groups.SCENARIO,  # 02
        delivery.SCENARIO,  # 03
        retry_storm.SCENARIO,
        poison_loop.SCENARIO,
        late_duplicate.SCENARIO,
        rabbitmq.SCENARIO,  # 05
        rabbitmq_queues.SCENARIO,
        brokers_compared.SCENARIO,
        event_design.SCENARIO,  # 07
        event_design.DEPLOY,
        cqrs.SCENARIO,  # 08
        sagas.SCENARIO,  # 09
        saga_isolation.SCENARIO,
        outbox.SCENARIO,  # 10
        conflicts.SCENARIO,  # 11
        queueing.SCENARIO,  # 12
        scaling.SCENARIO,
        observability.SCENARIO,  # 13
        pipeline.SCENARIO,  # 15
    )
    return {scenario.name: scenario for scenario in ordered}


SCENARIOS: dict[str, Scenario] = _registry()


def get(name: str) -> Scenario:
    """The scenario ``name`` (ConfigError listing the scenarios if unknown)."""
    try:
        return SCENARIOS[name]
    except (KeyError, TypeError):
        raise ConfigError("scenario", name, f"one of {', '.join(SCENARIOS)}") from None
