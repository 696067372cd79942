"""The outbox scenario in the one scenario shape: contract call, record levels, bad input."""

import math

import pytest

from labsim import ConfigError
from labsim.outbox import DESIGNS
from labsim.scenarios import outbox


def same_summary(a, b):
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k]))
        for k in a
    )


@pytest.mark.parametrize("design", DESIGNS)
def test_summary_level_gives_the_same_summary(design):
    full = outbox.run(design, 2, 80)
    lean = outbox.run(design, 2, 80, record_level="summary")
    assert same_summary(lean.summary, full.summary)
    assert lean.frames["orders_committed"].empty and not full.frames["orders_committed"].empty
    assert same_summary(outbox.SCENARIO.summarize(full.params, full.frames), full.summary)


def test_contract_call_positional_and_by_keyword():
    by_position = outbox.run("dual-write", 3, 90)
    by_keyword = outbox.run(design="dual-write", seed=3, orders=90)
    assert same_summary(by_position.summary, by_keyword.summary)
    assert {"zombie", "ghost"} <= set(by_position.summary)
    assert [f.kind for f in by_position.plan] == ["loss"]


def test_zombies_and_ghosts_come_from_the_database_and_broker_tables():
    result = outbox.run("dual-write", 0, 300)
    committed = set(result.frames["order_db"]["order"])
    published = set(result.frames["published"]["order"])
    assert result.summary["zombie"] == len(committed - published) > 0
    assert result.summary["ghost"] == len(published - committed) > 0
    # An undone order was committed once (a row of orders_committed) but is gone at the end.
    assert committed < set(result.frames["orders_committed"]["order"])


@pytest.mark.parametrize(
    "call, parameter",
    [
        (lambda: outbox.run("two-phase"), "design"),
        (lambda: outbox.run("outbox", 0, False), "orders"),
        (lambda: outbox.run("outbox", 0, 0), "orders"),
        (lambda: outbox.run("outbox", 0, 10**8), "orders"),
        (lambda: outbox.run(crash_rate=float("nan")), "crash_rate"),
        (lambda: outbox.run(loss=-0.1), "loss"),
        (lambda: outbox.run(publish_retries=1.0), "publish_retries"),
        (lambda: outbox.run(relay_interval=0), "relay_interval"),
        (lambda: outbox.run(quiet=True), "quiet"),
    ],
)
def test_bad_input_names_the_parameter(call, parameter):
    with pytest.raises(ConfigError) as info:
        call()
    assert info.value.parameter == parameter


def test_unknown_parameter_is_named():
    with pytest.raises(ConfigError, match="retries"):
        outbox.run(retries=2)


# -- the one relay: outbox and CDC here, the saga services' event outbox too -----------------
def _relay_world(replies, **options):
    """A relay on node ``svc`` sending items; ``replies[item]`` says whether each is acked."""
    from labsim import Network, World
    from labsim.outbox import Relay

    world = World(0)
    network = Network(world, ["svc", "other"])
    store = {item: False for item in replies}
    sent = []

    def send(item):
        sent.append((world.now, item))
        yield world.env.timeout(0.1)
        return replies[item]

    relay = Relay(
        network.node("svc"),
        pending=lambda: [i for i, done in store.items() if not done],
        send=send,
        mark_sent=lambda item: store.__setitem__(item, True),
        interval=1.0,
        **options,
    )
    return world, network, relay, store, sent


def test_an_in_order_relay_stops_its_pass_at_the_first_failure_and_polls_again():
    world, _, _, store, sent = _relay_world({"a": True, "b": False, "c": True})
    world.run(until=2.35)
    assert [item for _, item in sent] == ["a", "b", "b", "b"]  # "c" waits behind "b"
    assert [round(t, 1) for t, _ in sent] == [0.0, 0.1, 1.2, 2.3]  # a poll every interval
    assert store == {"a": True, "b": False, "c": False}


def test_an_independent_relay_goes_on_past_a_failure_and_looks_again_at_once():
    world, _, _, store, sent = _relay_world(
        {"a": True, "b": False, "c": True}, stop_at_failure=False, pause_after_pass=False
    )
    world.run(until=0.35)
    assert [item for _, item in sent] == ["a", "b", "c", "b"]  # no pause between passes
    assert store == {"a": True, "b": False, "c": True}


def test_a_crash_between_ack_and_mark_sends_the_item_again_after_the_restart():
    crashes = iter([True])
    world, network, _, store, sent = _relay_world(
        {"a": True},
        crash_point=lambda: next(crashes, False) and network.crash("svc") is not None,
    )
    world.run(until=0.5)
    assert store == {"a": False}  # acknowledged, never marked
    network.restart("svc")
    world.run(until=2.0)
    assert [item for _, item in sent] == ["a", "a"] and store == {"a": True}


def test_the_order_service_and_its_broker_talk_over_the_network():
    from labsim import Network, World
    from labsim.outbox import EVENTS_QUEUE, OrderService, event_broker

    world = World(0)
    network = Network(world, ["order", "broker"], latency=0.005)
    server = event_broker(network.node("broker"))
    service = OrderService(network.node("order"), "broker", design="outbox")
    for n in range(3):
        network.node("order").process(service.place(f"o{n}"))
    world.run(until=1)
    assert world.frame("published")["order"].tolist() == ["o0", "o1", "o2"]
    assert len(server.broker.queue(EVENTS_QUEUE)) == 3
    assert service.outbox == {"o0": True, "o1": True, "o2": True}
