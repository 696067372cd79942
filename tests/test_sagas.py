"""Sagas (orchestration and choreography) and the transactional outbox."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labsim import ConfigError
from labsim.checks import check_conservation, check_sagas
from labsim.outbox import DESIGNS
from labsim.sagas import SagaDefinition, Step
from labsim.scenarios import outbox, saga_isolation, sagas


@pytest.mark.parametrize("style", sagas.STYLES)
def test_without_faults_every_saga_commits_or_compensates(style):
    r = sagas.run(style, 1, 60, 0.0)
    s = r.summary
    assert s["half_done"] == 0 and s["conserved"]
    assert s["committed"] > 0 and s["compensated"] > 0  # stock runs out, cards get declined


@pytest.mark.parametrize("style", sagas.STYLES)
def test_crashes_at_every_step_still_end_all_or_nothing(style):
    # crash_rate=1: every service and the orchestrator crash at each message they handle (at
    # a random point before or after the change) until the fault phase ends.
    r = sagas.run(style, 2, 30, 1.0, quiet=60.0)
    assert r.summary["half_done"] == 0, sagas.outcomes(r.frames).query("outcome == 'half-done'")
    assert r.summary["conserved"]


@settings(max_examples=8, deadline=None)
@given(
    style=st.sampled_from(sagas.STYLES), seed=st.integers(0, 1000), crash_rate=st.floats(0.0, 0.6)
)
def test_random_crash_rates_never_leave_half_done_sagas(style, seed, crash_rate):
    s = sagas.run(style, seed, 40, crash_rate).summary
    assert s["half_done"] == 0 and s["conserved"]


def test_without_the_saga_log_a_crashed_orchestrator_leaves_sagas_half_done():
    s = sagas.run("orchestration", 1, 80, 0.05, recovery=False).summary
    assert s["half_done"] > 0 and not s["conserved"]


def test_without_a_durable_outbox_choreography_loses_events_and_stalls():
    s = sagas.run("choreography", 1, 80, 0.05, durable_outbox=False).summary
    assert s["half_done"] > 0


def test_saga_checker_reports_half_done_sagas():
    outcomes = pd.DataFrame(
        [
            {
                "saga": "ok",
                "order_status": "approved",
                "reserved": True,
                "charged": True,
                "refunded": False,
                "shipped": True,
            },
            {
                "saga": "undone",
                "order_status": "cancelled",
                "reserved": False,
                "charged": True,
                "refunded": True,
                "shipped": False,
            },
            {
                "saga": "stuck",
                "order_status": "pending",
                "reserved": True,
                "charged": False,
                "refunded": False,
                "shipped": False,
            },
        ]
    )
    result = check_sagas(outcomes)
    assert not result.valid
    assert result.anomalies["saga"].tolist() == ["stuck"]
    assert "1 committed, 1 compensated, 1 half done" in result.summary
    assert check_sagas(outcomes.iloc[:2]).valid


def test_conservation_checker():
    assert check_conservation(10, 6, 4, 50.0, 50.0).valid
    bad = check_conservation(10, 6, 3, 60.0, 50.0)
    assert not bad.valid and set(bad.anomalies["quantity"]) == {"stock", "money"}


def test_isolation_anomalies_and_countermeasures():
    results = {c: saga_isolation.run(c, 1).summary for c in saga_isolation.COUNTERMEASURES}
    assert results["none"]["lost_updates"] > 0 and results["none"]["oversold"] > 0
    for c in ("reread", "commutative", "semantic-lock"):
        assert results[c]["lost_updates"] == 0 and results[c]["oversold"] == 0
    assert results["semantic-lock"]["dirty_reads"] == 0
    assert results["commutative"]["dirty_reads"] + results["reread"]["dirty_reads"] > 0
    assert results["semantic-lock"]["latency_mean_s"] > results["commutative"]["latency_mean_s"]


@pytest.mark.parametrize(
    "make, parameter",
    [
        (lambda: SagaDefinition("empty", ()), "steps"),
        (lambda: Step("pay", "payment", "charge"), "compensation"),
        (lambda: Step("pay", "payment", "charge", "refund", timeout=-1), "timeout"),
        (lambda: Step("x", "s", "a", kind="maybe"), "kind"),
        (
            lambda: SagaDefinition(
                "order", (Step("p", "s", "a", kind="retriable"), Step("c", "s", "a", "u"))
            ),
            "steps",
        ),
        (lambda: sagas.run("orchestration", 0, 10, 1.5), "crash_rate"),
        (lambda: sagas.run("ballet"), "style"),
        (lambda: outbox.run("two-phase"), "design"),
    ],
)
def test_bad_saga_input(make, parameter):
    with pytest.raises(ConfigError) as info:
        make()
    assert info.value.parameter == parameter


def test_pivot_and_retriable_steps_need_no_compensation():
    definition = SagaDefinition(
        "order",
        (
            Step("reserve", "inventory", "reserve", "release"),
            Step("charge", "payment", "charge", kind="pivot"),
            Step("ship", "shipping", "schedule", kind="retriable"),
        ),
    )
    assert definition.pivot_index == 1


# -- outbox ----------------------------------------------------------------------------------
def test_dual_write_makes_zombies_and_ghosts_outbox_and_cdc_do_not():
    dual = outbox.run("dual-write", 0, 300).summary
    assert dual["zombie"] > 0 and dual["ghost"] > 0
    for design in ("outbox", "cdc"):
        s = outbox.run(design, 0, 300).summary
        assert s["zombie"] == 0 and s["ghost"] == 0
        assert s["duplicates"] > 0  # at-least-once relay: consumers must dedupe


def test_retries_do_not_fix_dual_writes():
    s = outbox.run("dual-write", 0, 300, publish_retries=5).summary
    assert s["zombie"] > 0  # a crash after the commit forgets what was left to publish


def test_without_faults_every_design_publishes_every_order_once():
    for design in DESIGNS:
        s = outbox.run(design, 1, 100, crash_rate=0.0, loss=0.0).summary
        assert s["zombie"] == s["ghost"] == s["duplicates"] == 0
        assert s["committed"] == s["published"] == 100


# -- the conversation: every message kind between the orchestrator and a service ------------
def _inventory(stock=2):
    from labsim import Network, World
    from labsim.sagas import Inventory
    from labsim.transport import Endpoint

    world = World(0)
    network = Network(world, ["orchestrator", "inventory"], latency=0.01)
    service = Inventory(network.node("inventory"), stock=stock)
    return world, network, service, Endpoint.of(network, "orchestrator")


def _ask(world, endpoint, bodies):
    answers = []

    def ask():
        for body in bodies:
            answers.append((yield from endpoint.call("inventory", body, 0.5)))

    world.process(ask())
    world.run(until=5)
    return answers


def test_commands_are_answered_succeeded_or_failed_and_deduped_by_key():
    from labsim.sagas import Command, Failed, Succeeded

    world, _, service, endpoint = _inventory(stock=2)
    first = Command(("s1", 1, "action"), "reserve", {"saga": "s1", "qty": 2}, "evt-a")
    answers = _ask(
        world,
        endpoint,
        [
            first,
            first,  # a retry: the stored result, not a second reservation
            Command(("s2", 1, "action"), "reserve", {"saga": "s2", "qty": 1}, "evt-b"),
        ],
    )
    assert [type(a) for a in answers] == [Succeeded, Succeeded, Failed]
    assert answers[0].data == {"saga": "s1"} and answers[0].event_id is not None
    assert answers[2].data == {"saga": "s2", "reason": "out of stock"}
    assert service.db["stock"] == 0
    steps = world.frame("saga_steps")
    assert steps["duplicate"].tolist() == [False, True, False]
    assert steps["outcome"].tolist() == ["ok", "ok", "failed"]


def test_an_event_is_acknowledged_once_handled_and_its_reaction_emitted():
    from labsim.events import Event
    from labsim.sagas import Ack, Notify

    world, _, service, endpoint = _inventory(stock=5)
    service.subscribers = {"inventory.reserved": ["orchestrator"]}
    created = Event("order.created", {"saga": "s1", "qty": 2}, correlation_id="s1")
    assert _ask(world, endpoint, [Notify(created)]) == [Ack(created.event_id)]
    assert service.db["reservations"] == {"s1": 2}
    rows = world.frame("saga_messages")
    assert rows[["event_type", "causation_id", "source", "target"]].values.tolist() == [
        ["inventory.reserved", created.event_id, "inventory", "orchestrator"]
    ]


def test_a_service_refuses_what_is_not_a_saga_request():
    from labsim.transport import Request

    world, network, _, _ = _inventory()
    network.send("orchestrator", "inventory", Request(("key", "reserve", {}, None), 1, "x"))
    with pytest.raises(TypeError, match="no saga request"):
        world.run(until=1)


def test_orchestrator_and_services_write_one_kind_of_message_row():
    from labsim.sagas import SAGA_MESSAGE_COLUMNS

    r = sagas.run("orchestration", 0, 3, 0.0)
    rows = r.frames["saga_messages"]
    assert tuple(rows.columns) == SAGA_MESSAGE_COLUMNS
    assert {"orchestrator", "order", "inventory", "payment", "shipping"} <= set(rows["source"])
    commands = rows[rows["source"] == "orchestrator"]
    replies = rows[rows["source"] != "orchestrator"]
    assert set(replies["causation_id"]) <= set(commands["event_id"])
