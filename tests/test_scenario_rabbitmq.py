"""Lesson 05's experiments: each claim the lesson makes holds for other seeds too."""

import pandas as pd
import pytest

from labsim import ConfigError
from labsim.scenarios import SCENARIOS, brokers_compared, rabbitmq, rabbitmq_queues

SEEDS = (0, 7, 20261126)


def test_the_prefetch_scenario_is_registered_in_the_one_shape():
    scenario = SCENARIOS["rabbitmq-prefetch"]
    assert scenario.lesson == "05_rabbitmq_and_brokers"
    assert set(scenario.describe()["name"]) >= {"prefetch", "slow_ms", "latency_ms"}


def test_same_seed_same_frames():
    a = rabbitmq.run(seed=3, messages=120)
    b = rabbitmq.run(seed=3, messages=120)
    pd.testing.assert_frame_equal(a.frames["done"], b.frames["done"])
    assert a.summary == b.summary


@pytest.mark.parametrize("seed", SEEDS)
def test_prefetch_one_is_fair_but_slow_and_a_huge_prefetch_hoards(seed):
    sweep = rabbitmq.prefetch_sweep((1, 5, 300), seed, messages=300)
    one, mid, huge = (sweep.iloc[i] for i in range(3))
    assert mid["throughput_per_s"] > 1.2 * one["throughput_per_s"]  # prefetch 1 is slow
    assert one["tail_s"] < 0.1 * huge["tail_s"]  # ...but nobody hoards
    assert huge["slow_share"] == pytest.approx(huge["round_robin_share"], abs=0.02)
    assert huge["throughput_per_s"] < one["throughput_per_s"]


def test_without_latency_prefetch_one_costs_nothing():
    # The round trip is what makes prefetch 1 slow: take it away and prefetch 1 is as fast.
    sweep = rabbitmq.prefetch_sweep((1, 5), 0, messages=300, latency_ms=0.0)
    assert sweep["throughput_per_s"].iloc[0] >= 0.95 * sweep["throughput_per_s"].iloc[1]


def test_prefetch_parameters_are_checked():
    with pytest.raises(ConfigError):
        rabbitmq.run(prefetch=0)
    with pytest.raises(ConfigError):
        rabbitmq.run(fast_consumers=0, slow_consumers=0)


def test_routing_reaches_zero_one_and_many_queues():
    routes = rabbitmq.route_examples().set_index("routing_key")
    assert routes.loc["order.refunded", "copies"] == 0
    assert routes.loc["order.created", "queues"] == "billing"
    assert routes.loc["order.created.eu", "queues"] == "eu-orders, audit"
    assert routes.loc["payment.failed.eu", "queues"] == "failures, audit"
    assert routes.loc["anything", "copies"] == 3


def test_routing_graph_has_every_binding():
    from labsim.plots.routing import routing_graph

    graph = routing_graph(rabbitmq.routing_broker())
    assert graph.number_of_edges() == 8
    assert graph.edges["events.topic", "failures"]["key"] == "*.failed.#"
    assert "" not in graph  # the default exchange is left out


@pytest.mark.parametrize("seed", SEEDS)
def test_priorities_help_only_what_is_still_in_the_queue(seed):
    one = rabbitmq_queues.priority_waits(prefetch=1, seed=seed).set_index("class")["wait_mean_s"]
    fifty = rabbitmq_queues.priority_waits(prefetch=50, seed=seed).set_index("class")["wait_mean_s"]
    assert one["express"] < 0.2 * one["normal"]
    assert fifty["express"] > 5 * one["express"]


def test_a_ttl_queue_and_a_dead_letter_exchange_space_the_retries():
    attempts = rabbitmq_queues.delayed_retry("ttl-dlx", messages=5, outage=3.0, retry_delay=1.0)
    gaps = attempts.sort_values("time").groupby("msg_id")["time"].diff().dropna()
    assert gaps.min() >= 1.0 and gaps.max() < 1.2
    assert (attempts.groupby("msg_id")["outcome"].last() == "ok").all()
    requeue = rabbitmq_queues.delayed_retry("requeue", messages=5, outage=3.0)
    assert len(requeue) > 5 * len(attempts)


def test_a_delayed_retry_parks_a_message_after_its_attempts():
    attempts = rabbitmq_queues.delayed_retry("ttl-dlx", messages=2, outage=100.0, max_attempts=3)
    assert attempts.groupby("msg_id")["attempt"].max().tolist() == [3, 3]
    assert (attempts.groupby("msg_id")["outcome"].last() == "parked").all()


def test_bad_retry_settings_are_refused():
    with pytest.raises(ConfigError):
        rabbitmq_queues.delayed_retry("later")
    with pytest.raises(ConfigError):
        rabbitmq_queues.delayed_retry(retry_delay=0)


def test_a_delivery_limit_of_l_means_l_plus_one_deliveries():
    limits = rabbitmq_queues.delivery_limits((0, 2, 4))
    assert limits["deliveries"].tolist() == [1, 3, 5]
    assert limits["last_x_delivery_count"].tolist() == [0, 2, 4]
    assert limits["dead_lettered"].all()


@pytest.mark.parametrize("seed", SEEDS)
def test_requeue_and_load_balancing_each_break_order_a_partition_keeps_it(seed):
    grid = brokers_compared.order_grid(seed, failure=0.1, messages=200).set_index(
        ["consumers", "failure"]
    )
    assert (grid["kafka"] == 0).all()
    assert grid.loc[(1, 0.0), "rabbitmq"] == 0
    assert grid.loc[(1, 0.1), "rabbitmq"] > 0
    assert grid.loc[(3, 0.0), "rabbitmq"] > 0


@pytest.mark.parametrize("seed", SEEDS)
def test_the_comparison_table_is_what_the_lesson_says(seed):
    n = 150
    table = brokers_compared.compare(seed, messages=n)
    queues = ["rabbitmq", "cloudqueue"]
    assert table.loc["late reader gets", "kafka"] == n
    assert (table.loc["late reader gets", queues] == 0).all()
    assert table.loc["per-key order violations", "kafka"] == 0
    assert (table.loc["per-key order violations", queues] > 0).all()
    assert table.loc["stored copies", "kafka"] == n
    assert (table.loc["stored copies", queues] == 3 * n).all()
    assert table.loc["busy consumers", "kafka"] == 3
    assert (table.loc["busy consumers", queues] == 6).all()
    assert table.loc["kept after consumption", "kafka"] == n
    assert (table.loc["kept after consumption", queues] == 0).all()
    assert table.loc["acknowledgements", "kafka"] < n
    assert (table.loc["acknowledgements", queues] == n).all()


def test_every_model_processes_every_message_once_successfully():
    for model in brokers_compared.MODELS:
        done = brokers_compared.run_model(model, 2, messages=100)["done"]
        assert sorted(done["seq"]) == list(range(1, 101)), model


def test_order_violations_counts_late_messages_per_key():
    done = pd.DataFrame(
        {"time": [1, 2, 3, 4, 5], "seq": [1, 3, 2, 4, 5], "key": ["a", "a", "a", "b", "b"]}
    )
    assert brokers_compared.order_violations(done) == 1
    assert brokers_compared.order_violations(done.assign(seq=[1, 2, 3, 4, 5])) == 0


def test_the_comparison_and_retry_scenarios_are_registered_and_deterministic():
    for name in ("brokers-compared", "rabbitmq-retry"):
        scenario = SCENARIOS[name]
        assert scenario.lesson == "05_rabbitmq_and_brokers"
    a = brokers_compared.run("rabbitmq", 4, 80)
    b = brokers_compared.run("rabbitmq", 4, 80)
    assert a.summary == b.summary
    assert SCENARIOS["brokers-compared"].summarize(a.params, a.frames) == a.summary
    retry = rabbitmq_queues.run("ttl-dlx", 0, 5)
    assert retry.summary["most_attempts"] == 4 and retry.summary["ok"] == 5


def test_an_unknown_model_is_refused():
    with pytest.raises(ConfigError):
        brokers_compared.run_model("pulsar")
    with pytest.raises(ConfigError):
        brokers_compared.run_model("kafka", failure=1.0)


def test_routing_happens_once_at_publish_time():
    assert rabbitmq.late_binding() == {"email": 2, "late": 1}
