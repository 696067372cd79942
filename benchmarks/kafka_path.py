"""The Kafka-style path — producer, network, broker, consumer group, fetch, commit — in labsim
and in a hand-written bare SimPy model of the same path, in one process.

Workload: a keyed topic (60 keys) with 6 partitions, Poisson produce at 500 records/s, a
producer batching per partition with a 5 ms linger, one network hop each way (exponential
latency, mean 1 ms), 6 consumers (one partition each) polling with fetch (up to 50 records,
50 ms back-off after an empty fetch), 4 ms processing per record (exponential), a commit after
each processed batch. The bare model is what one writes by hand in SimPy: a process per
request, a timeout per hop, lists for the partition logs, no recording. labsim runs the same
workload through its Network, Broker, Producer and Consumer (group protocol, heartbeats, lag
sampling and every table recorded at ``record_level="full"``).

Both run alternately, median of 3 each. Prints one JSON line: ``labsim_rate`` and
``bare_rate`` (records consumed per wall-clock second), ``ratio`` (labsim / bare; target
>= 0.7), ``simpy_events_per_message`` (SimPy events labsim steps per record, counted on a
separate run, so deterministic; target <= 10), ``bare_events_per_message``, and
``peak_rss_mb``, the peak memory of a 1,000,000-record labsim run at ``record_level="summary"``
measured in a child process, and ``peak_rss_mb_full_level``, the same at ``"full"`` (every
table; target < 1 GiB; the run only, not the DataFrames built from it afterwards).

Run: ``.venv/bin/python benchmarks/kafka_path.py [--messages N] [--peak-messages N]
[--peak-level summary|full|both]``; ``--peak-messages 0`` skips the memory runs (quick look).
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
from pathlib import Path

import simpy
from _common import emit, rates_interleaved

from labsim import World
from labsim.dists import Exponential
from labsim.kafka import Broker, Consumer, Producer, kafka_partition
from labsim.network import Network

PARTITIONS = CONSUMERS = 6
RATE = 500.0  # records per second (where the path cost ~21 SimPy events per record before)
KEYS = 60
LATENCY = 0.001  # mean one-way link latency (s)
PROCESSING = 0.004  # mean processing time per record (s)
LINGER = 0.005
BATCH_SIZE = 16  # producer batch, records (ProducerConfig default)
MAX_POLL = 50
FETCH_WAIT = 0.05  # ConsumerConfig default
DRAIN = 2.0  # simulated seconds after the last record is produced


def _end(messages: int) -> float:
    return messages / RATE + DRAIN


def labsim_world(messages: int, record_level: str = "full") -> tuple[World, Broker]:
    """The workload built from labsim's components (not yet run)."""
    world = World(seed=1, record_level=record_level)
    names = ["broker", "producer", *(f"c{i}" for i in range(1, CONSUMERS + 1))]
    network = Network(world, names, latency=Exponential.from_mean(LATENCY))
    broker = Broker(network, metrics_interval=0.25)
    broker.create_topic("events", partitions=PARTITIONS)
    producer = Producer(network, "producer", broker, linger=LINGER, batch_size=BATCH_SIZE)
    for name in names[2:]:
        Consumer(
            network,
            name,
            broker,
            ["events"],
            processing=Exponential.from_mean(PROCESSING),
            max_poll_records=MAX_POLL,
            session_timeout=3.0,
            heartbeat_interval=0.5,
        )

    def produce():
        rng = world.rng("workload")
        timeout, expovariate, randrange = world.env.timeout, rng.expovariate, rng.randrange
        send = producer.send
        for n in range(messages):
            yield timeout(expovariate(RATE))
            send("events", n, key=f"key-{randrange(KEYS)}")

    world.process(produce())
    return world, broker


def run_labsim(messages: int, record_level: str = "full") -> int:
    world, broker = labsim_world(messages, record_level)
    world.run(until=_end(messages))
    done = sum(broker.committed("group").values())
    assert done >= 0.999 * messages, (done, messages)  # committed by the end of the drain
    return done


def bare_env(messages: int) -> tuple[simpy.Environment, list[int]]:
    """The same path written by hand in SimPy (not yet run); returns the env and a counter."""
    env = simpy.Environment()
    rng = random.Random(1)
    expovariate, randrange = rng.expovariate, rng.randrange
    keyed = [kafka_partition(f"key-{k}", PARTITIONS) for k in range(KEYS)]
    logs: list[list[tuple[float, int]]] = [[] for _ in range(PARTITIONS)]
    committed = [0] * PARTITIONS
    batches: dict[int, list[int]] = {}
    timeout = env.timeout
    hop_rate, proc_rate = 1 / LATENCY, 1 / PROCESSING
    processed = [0]

    def deliver(partition: int, batch: list[int]):
        yield timeout(expovariate(hop_rate))  # produce request
        log, now = logs[partition], env.now
        log.extend((now, m) for m in batch)
        yield timeout(expovariate(hop_rate))  # acknowledgement

    def flush(partition: int) -> None:
        env.process(deliver(partition, batches.pop(partition)))

    def linger(partition: int, batch: list[int]) -> None:
        t = timeout(LINGER)
        t.callbacks.append(lambda _e: batches.get(partition) is batch and flush(partition))

    def produce():
        for n in range(messages):
            yield timeout(expovariate(RATE))
            partition = keyed[randrange(KEYS)]
            batch = batches.get(partition)
            if batch is None:
                batch = batches[partition] = []
                linger(partition, batch)
            batch.append(n)
            if len(batch) >= BATCH_SIZE:
                flush(partition)

    def consume(partition: int):
        position = 0
        log = logs[partition]
        while True:
            yield timeout(expovariate(hop_rate))  # fetch request
            records = log[position : position + MAX_POLL]
            yield timeout(expovariate(hop_rate))  # fetch response
            if not records:
                yield timeout(FETCH_WAIT)
                continue
            position += len(records)
            for _ in records:
                yield timeout(expovariate(proc_rate))
            yield timeout(expovariate(hop_rate))  # commit request
            committed[partition] = position
            processed[0] = sum(committed)
            yield timeout(expovariate(hop_rate))  # commit response

    env.process(produce())
    for p in range(CONSUMERS):
        env.process(consume(p))
    return env, processed


def run_bare(messages: int) -> int:
    env, processed = bare_env(messages)
    env.run(until=_end(messages))
    assert processed[0] == messages, (processed[0], messages)
    return processed[0]


def _count_steps(env: simpy.Environment) -> list[int]:
    steps = [0]
    step = env.step

    def counted() -> None:
        steps[0] += 1
        step()

    env.step = counted  # type: ignore[method-assign]  # Environment.run calls self.step()
    return steps


def events_per_message(messages: int) -> tuple[float, float]:
    """SimPy events stepped per record: (labsim, bare), counted on one run each."""
    world, _ = labsim_world(messages)
    labsim_steps = _count_steps(world.env)
    world.run(until=_end(messages))
    env, _ = bare_env(messages)
    bare_steps = _count_steps(env)
    env.run(until=_end(messages))
    return labsim_steps[0] / messages, bare_steps[0] / messages


PEAK_SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from _common import peak_rss_kib
from kafka_path import run_labsim
print(run_labsim({messages}, {level!r}))
print(peak_rss_kib())
"""


def peak_rss_mb(messages: int, level: str) -> tuple[float, int]:
    """Peak RSS (MB) of one labsim run of ``messages`` records, alone in a child process,
    and how many records it had committed by its end."""
    script = PEAK_SCRIPT.format(here=str(Path(__file__).parent), messages=messages, level=level)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"the {messages}-record run failed:\n{out.stderr}")
    committed, peak_kib = out.stdout.strip().splitlines()[-2:]
    return int(peak_kib) / 1024, int(committed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000, help="records per timed run")
    parser.add_argument("--count-messages", type=int, default=20_000, help="records counted")
    parser.add_argument("--peak-messages", type=int, default=1_000_000, help="0 skips it")
    parser.add_argument(
        "--peak-level", default="both", choices=("summary", "full", "both"), help="of peak runs"
    )
    args = parser.parse_args()
    n = args.messages
    rates = rates_interleaved(
        {
            "labsim_rate": lambda: run_labsim(n),
            "labsim_summary_level_rate": lambda: run_labsim(n, "summary"),
            "bare_rate": lambda: run_bare(n),
        }
    )
    labsim_epm, bare_epm = events_per_message(args.count_messages)
    figures = {
        "benchmark": "kafka_path",
        "messages": n,
        **rates,
        "ratio": rates["labsim_rate"] / rates["bare_rate"],
        "ratio_summary_level": rates["labsim_summary_level_rate"] / rates["bare_rate"],
        "simpy_events_per_message": labsim_epm,
        "bare_events_per_message": bare_epm,
        "target_ratio": 0.7,
        "target_events_per_message": 10,
    }
    if args.peak_messages:
        figures["peak_messages"] = args.peak_messages
        if args.peak_level in ("summary", "both"):
            figures["peak_rss_mb"], figures["peak_committed"] = peak_rss_mb(
                args.peak_messages, "summary"
            )
        if args.peak_level in ("full", "both"):
            figures["peak_rss_mb_full_level"], _ = peak_rss_mb(args.peak_messages, "full")
        figures["target_peak_rss_mb"] = 1024
    figures["this_process_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    emit(figures)


if __name__ == "__main__":
    main()
