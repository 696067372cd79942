import pytest

from labsim import ConfigError, Event, World
from labsim.eventsourcing import (
    Account,
    ConcurrencyError,
    CustomerTotals,
    DomainError,
    InMemoryEventStore,
    Order,
    OrderSummaries,
    ProjectionWorker,
    Repository,
    SqliteEventStore,
    Upcasters,
    replay,
)
from labsim.scenarios import cqrs

LINES = [{"sku": "book", "qty": 2, "price": 10.0}]


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    if request.param == "memory":
        return InMemoryEventStore()
    return SqliteEventStore(tmp_path / "es.db")


def test_order_lifecycle_is_rebuilt_from_its_events(store):
    repo = Repository(store, Order)
    order = Order.create("1", "ada", LINES)
    repo.save(order)
    order.pay(20.0)
    order.ship()
    repo.save(order)
    loaded = repo.load("1")
    assert (loaded.status, loaded.customer, loaded.total, loaded.version) == (
        "shipped",
        "ada",
        20.0,
        2,
    )
    assert [e.event_type for e in store.read_stream("order-1")] == [
        "order.created",
        "order.paid",
        "order.shipped",
    ]
    with pytest.raises(DomainError, match="shipped"):
        loaded.cancel("too late")
    with pytest.raises(KeyError):
        repo.load("missing")


def test_two_writers_on_one_aggregate_cannot_both_win(store):
    repo = Repository(store, Order)
    repo.save(Order.create("1", "ada", LINES))
    first, second = repo.load("1"), repo.load("1")
    first.pay(20.0)
    second.cancel("changed my mind")
    repo.save(first)
    with pytest.raises(ConcurrencyError, match="order-1"):
        repo.save(second)


def test_temporal_queries(store):
    repo = Repository(store, Account)
    world = World()  # events recorded inside the run take their timestamps from it

    def history():
        account = Account.open("a", "ada")
        repo.save(account)
        for amount in (100, 50):
            yield world.timeout(1.0)
            account.deposit(amount)
            repo.save(account)
        yield world.timeout(1.0)
        account.withdraw(30)
        repo.save(account)

    world.process(history())
    world.run()
    assert repo.load("a").balance == 120
    assert repo.load("a", as_of_version=1).balance == 100
    assert repo.load("a", as_of_time=1.5).balance == 100
    with pytest.raises(DomainError, match="insufficient"):
        repo.load("a").withdraw(1000)


def test_snapshots_cut_replay_cost_and_give_the_same_state():
    store = InMemoryEventStore()
    plain = Repository(store, Account)
    snapped = Repository(store, Account, snapshot_every=10)
    account = Account.open("a", "ada")
    snapped.save(account)
    for _ in range(95):
        account = snapped.load("a")
        account.deposit(1)
        snapped.save(account)
    plain.events_replayed = snapped.events_replayed = 0
    assert plain.load("a").balance == snapped.load("a").balance == 95
    assert plain.events_replayed == 96
    assert snapped.events_replayed < 10
    with pytest.raises(ConfigError, match="snapshot_every"):
        Repository(store, Account, snapshot_every=0)


def test_upcasters_turn_old_events_into_the_newest_shape(store):
    # v1: {"amount": 10}; v2 adds a currency; v3 renames amount to amount_cents.
    upcasters = Upcasters()
    upcasters.register("money.deposited", 1, lambda d: {**d, "currency": "EUR"})
    upcasters.register(
        "money.deposited",
        2,
        lambda d: {"amount_cents": d["amount"] * 100, "currency": d["currency"]},
    )
    store.append(
        "account-x",
        [
            Event("account.opened", {"owner": "ada"}, event_id="o"),
            Event("money.deposited", {"amount": 10}, event_id="v1"),
            Event(
                "money.deposited", {"amount": 5, "currency": "USD"}, event_id="v2", event_version=2
            ),
            Event(
                "money.deposited",
                {"amount_cents": 700, "currency": "EUR"},
                event_id="v3",
                event_version=3,
            ),
        ],
    )
    shaped = [upcasters.upcast(e) for e in store.read_stream("account-x")[1:]]
    assert [e.event_version for e in shaped] == [3, 3, 3]
    assert [e.data for e in shaped] == [
        {"amount_cents": 1000, "currency": "EUR"},
        {"amount_cents": 500, "currency": "USD"},
        {"amount_cents": 700, "currency": "EUR"},
    ]
    assert upcasters.latest("money.deposited") == 3


def test_projection_worker_follows_the_store_and_records_lag():
    world = World(1)
    store = InMemoryEventStore()
    summaries = OrderSummaries()
    ProjectionWorker(world, store, summaries, poll_interval=0.1, processing=0.01)
    repo = Repository(store, Order)

    def writer():
        for i in range(5):
            with world:
                repo.save(Order.create(str(i), "ada", LINES))
            yield world.timeout(0.5)

    world.process(writer())
    world.run(until=5)
    assert summaries.state() == replay(store, OrderSummaries()).state()
    lag = world.frame("projected")["lag"]
    assert len(lag) == 5 and (lag > 0).all() and (lag <= 0.1 + 0.01 + 1e-9).all()


def test_projection_resumes_after_a_crash_without_applying_twice():
    atomic = cqrs.run(seed=3, crash_at=12.0, checkpoint_every=1, duration=20)
    assert atomic.summary["double_applied"] == 0
    assert atomic.summary["totals_correct"]


def test_lagging_checkpoint_double_applies_after_a_crash_and_the_totals_go_wrong():
    lazy = cqrs.run(seed=3, crash_at=12.0, checkpoint_every=50, duration=20)
    assert lazy.summary["double_applied"] > 0
    assert not lazy.summary["totals_correct"]


def test_replay_rebuilds_the_same_read_model(store):
    repo = Repository(store, Order)
    for i in range(4):
        order = Order.create(str(i), f"c{i % 2}", LINES)
        order.pay(20.0)
        repo.save(order)
    live = CustomerTotals()
    for e in store.read_all():
        live.apply(e)
    assert replay(store, CustomerTotals()).state() == live.state() == {"c0": 40.0, "c1": 40.0}


def test_read_your_writes_strategies():
    results = {s: cqrs.run(seed=2, strategy=s, duration=10).summary for s in cqrs.STRATEGIES}
    assert results["none"]["stale_reads"] > 0.5
    for s in ("sync", "wait-for-version", "optimistic"):
        assert results[s]["stale_reads"] == 0
    assert results["wait-for-version"]["read_latency_mean_s"] > 0
    assert results["sync"]["write_latency_mean_s"] > results["none"]["write_latency_mean_s"]
    assert results["sync"]["lag_mean_s"] == 0


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"strategy": "hope"}, "strategy"),
        ({"rate": 0}, "rate"),
        ({"checkpoint_every": 0}, "checkpoint_every"),
        ({"burst_length": 20, "burst_every": 10}, "burst_length"),
    ],
)
def test_bad_cqrs_parameters(kwargs, parameter):
    with pytest.raises(ConfigError) as info:
        cqrs.run(**kwargs)
    assert info.value.parameter == parameter


def test_loaded_and_upcast_events_stay_read_only(store):
    repo = Repository(store, Order)
    repo.save(Order.create("1", "ada", [dict(line) for line in LINES]))
    stored = store.read_stream("order-1")[0]
    with pytest.raises(TypeError, match="read-only"):
        stored.data["lines"][0]["qty"] = 1000  # a reader cannot rewrite the order
    assert repo.load("1").total == 20.0
    upcasters = Upcasters()
    upcasters.register("order.created", 1, lambda d: {**d, "currency": "EUR"})
    shaped = upcasters.upcast(stored)
    assert shaped.data["currency"] == "EUR" and shaped.event_version == 2
    with pytest.raises(TypeError, match="read-only"):
        shaped.data["currency"] = "USD"
    assert store.read_stream("order-1")[0].data == stored.data  # the upcast changed no history
