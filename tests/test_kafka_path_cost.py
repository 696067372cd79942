"""The cheaper Kafka-style path behaves as the record-by-record, process-per-request one did.

A consumer with no handler processes a fetched batch with one timeout; with a handler it
still wakes per record. Both must process the same records at the same times and leave the
random streams in the same place — also when a member crashes mid-batch.
"""

import pytest

from labsim import Exponential, Network, World, ms
from labsim.kafka import Broker, Consumer, Producer
from labsim.transport import Endpoint, delay_until


def _group_run(handler, seed=4, crash_at=0.83, restart_at=1.9):
    world = World(seed)
    names = ["broker", "p", "c1", "c2", "c3"]
    net = Network(world, names, latency=Exponential.from_mean(ms(1)))
    broker = Broker(net, metrics_interval=0.1)
    broker.create_topic("t", partitions=6)
    producer = Producer(net, "p", broker, linger=0.005)
    for name in names[2:]:
        Consumer(
            net,
            name,
            broker,
            ["t"],
            processing=Exponential.from_mean(ms(4)),
            max_poll_records=20,
            session_timeout=0.6,
            heartbeat_interval=0.1,
            handler=handler,
        )

    def produce():
        rng = world.rng("workload")
        for i in range(1500):
            yield world.timeout(rng.expovariate(600))
            producer.send("t", i, key=f"k{rng.randrange(40)}")

    world.process(produce())
    world.env.process(_crash(world, net, crash_at, restart_at))
    world.run(until=5.0)
    return world


def _crash(world, net, crash_at, restart_at):
    yield world.timeout(crash_at)
    net.crash("c1")
    yield world.timeout(restart_at - crash_at)
    net.restart("c1")


def test_batched_processing_records_what_the_per_record_loop_records_through_a_crash():
    batched = _group_run(handler=None)
    per_record = _group_run(handler=lambda record, consumer: None)
    for table in ("consumed", "consumer_events", "log", "acks", "lag", "commits"):
        a, b = batched.frame(table), per_record.frame(table)
        assert len(a) > 0, table
        assert a.equals(b), table
    # The crash cut a batch short: c1 processed records, lost some, and processed again.
    consumed = batched.frame("consumed")
    assert consumed[consumed["consumer"] == "c1"]["time"].gt(1.9).any()
    for name in ("consumer-c1", "consumer-c2", "workload"):
        assert batched.rng(name).random() == per_record.rng(name).random(), name


@pytest.mark.parametrize("now, when", [(0.1, 0.3), (1.7, 2.0000000001), (1e6 / 3, 1e6 / 3 + 0.5)])
def test_delay_until_lands_exactly_on_the_deadline(now, when):
    assert now + delay_until(now, when) == when


def test_a_request_times_out_at_its_deadline_and_a_late_reply_is_ignored():
    world = World(1)
    net = Network(world, ["a", "b"], latency=0.3)
    server = Endpoint.of(net, "b")
    server.serve(lambda request: server.reply(request, "pong"))
    client = Endpoint.of(net, "a")
    answers = []

    def ask(timeout):
        started = world.now
        reply = yield from client.call("b", "ping", timeout)
        answers.append((timeout, reply, round(world.now - started, 9)))

    world.process(ask(0.5))  # the reply (0.6 s round trip) comes too late
    world.process(ask(1.0))
    world.process(ask(0.2))
    world.run(until=3)
    assert sorted(answers) == [(0.2, None, 0.2), (0.5, None, 0.5), (1.0, "pong", 0.6)]


def test_sends_nobody_waits_on_are_settled_and_still_give_their_result():
    world = World(2)
    net = Network(world, ["broker", "p"], latency=ms(1))
    broker = Broker(net, metrics_interval=None)
    broker.create_topic("t", partitions=2)
    producer = Producer(net, "p", broker, linger=0.002)
    events = [producer.send("t", i, key=str(i)) for i in range(5)]
    waited = []

    def later():
        yield world.timeout(1.0)  # long after the acknowledgements
        for event in events:
            result = yield event
            waited.append(result.ok)

    world.process(later())
    world.run(until=2)
    assert all(e.processed and e.ok for e in events)
    assert waited == [True] * 5


def test_requests_with_mixed_timeouts_time_out_in_deadline_order_each_at_its_deadline():
    world = World(3)
    net = Network(world, ["a", "b"], latency=0.05)
    server = Endpoint.of(net, "b")
    answered = {"even"}  # the server answers the even requests only
    server.serve(lambda request: request.body[0] in answered and server.reply(request, "ok"))
    client = Endpoint.of(net, "a")
    fired = []

    def ask(i, timeout):
        kind = "even" if i % 2 == 0 else "odd"
        deadline = world.now + timeout
        client.request(
            "b", (kind, i), timeout, lambda reply: fired.append((world.now, deadline, i, reply))
        )

    def asker():
        rng = world.rng("asker")
        for i in range(60):
            ask(i, rng.choice((0.3, 0.7, 1.5)))
            yield world.timeout(rng.expovariate(40))

    world.process(asker())
    world.run(until=10)
    timed_out = [(now, deadline, i) for now, deadline, i, reply in fired if reply is None]
    assert sorted(i for *_, i in timed_out) == list(range(1, 60, 2))
    # In the order of their deadlines (then of sending), each exactly at its deadline.
    assert timed_out == sorted(timed_out, key=lambda row: (row[1], row[2]))
    assert all(now == deadline for now, deadline, _ in timed_out)
    assert [reply for *_, i, reply in fired if i % 2 == 0] == ["ok"] * 30
    assert not any(client._deadlines)  # nothing left once every request ended


def test_requests_due_at_the_same_instant_time_out_in_the_order_they_were_sent():
    # Two timeouts, two queues: the one with the later-created queue (1.0 s) holds the
    # earlier request of the two due at 1.2 s.
    world = World(0)
    net = Network(world, ["a", "b"], latency=0.05)
    Endpoint.of(net, "b").serve(lambda request: None)  # never answers
    client = Endpoint.of(net, "a")
    fired = []

    def ask(at, name, timeout):
        yield world.timeout(at)
        client.request("b", name, timeout, lambda _reply: fired.append((world.now, name)))

    for at, name, timeout in [
        (0.0, "r1", 0.5),
        (0.2, "r2", 1.0),
        (0.4, "r3", 0.5),
        (0.7, "r4", 0.5),
    ]:
        world.process(ask(at, name, timeout))
    world.run(until=3)
    assert 0.2 + 1.0 == 0.7 + 0.5  # r2 and r4 are due at the very same time
    assert fired == [(0.5, "r1"), (0.9, "r3"), (1.2, "r2"), (1.2, "r4")]
