import pytest

from labsim import ConfigError, World
from labsim.kafka import Partitioner, kafka_partition, murmur2

# Values computed by Kafka's own Utils.murmur2 (its unit tests and other client ports).
KAFKA_MURMUR2 = {
    "21": -973932308,
    "foobar": -790332482,
    "a-little-bit-long-string": -985981536,
    "a-little-bit-longer-string": -1486304829,
    "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    "abc": 479470107,
    "1": -1993445489,
    "12": 126087238,
    "123": -267702483,
    "1234": -1614185708,
    "12345": -1188365604,
}


@pytest.mark.parametrize("text, expected", KAFKA_MURMUR2.items())
def test_murmur2_matches_kafka(text, expected):
    assert murmur2(text.encode()) == expected


def test_kafka_partition_is_positive_murmur2_modulo():
    for text, h in KAFKA_MURMUR2.items():
        for n in (1, 3, 7, 12):
            assert kafka_partition(text, n) == (h & 0x7FFFFFFF) % n
            assert kafka_partition(text.encode(), n) == kafka_partition(text, n)
    assert kafka_partition("héllo", 5) == kafka_partition("héllo".encode(), 5)


def test_growing_a_topic_remaps_keys():
    keys = [f"customer-{i}" for i in range(1000)]
    moved = sum(kafka_partition(k, 6) != kafka_partition(k, 8) for k in keys)
    assert moved > 500  # most keys land elsewhere: per-key order across the change is lost


@pytest.mark.parametrize(
    "args, parameter",
    [(("k", 0), "num_partitions"), (("k", -1), "num_partitions"), ((3, 4), "key")],
)
def test_bad_partition_arguments(args, parameter):
    with pytest.raises(ConfigError) as info:
        kafka_partition(*args)
    assert info.value.parameter == parameter


def test_round_robin_null_keys_cycle_through_partitions():
    p = Partitioner("round-robin")
    assert [p.partition("t", None, "v", 3) for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]


def test_sticky_null_keys_fill_a_batch_then_switch():
    p = Partitioner("sticky", World(1).rng("p"), batch_size=4)
    picks = [p.partition("t", None, "v", 5) for _ in range(12)]
    batches = [picks[i : i + 4] for i in range(0, 12, 4)]
    assert all(len(set(b)) == 1 for b in batches)
    assert batches[0][0] != batches[1][0] and batches[1][0] != batches[2][0]


def test_keyed_records_ignore_the_null_key_policy_and_custom_overrides_all():
    p = Partitioner("round-robin")
    assert p.partition("t", "abc", "v", 7) == kafka_partition("abc", 7)
    custom = Partitioner(custom=lambda key, value, n: len(value) % n)
    assert custom.partition("t", "abc", "four", 3) == 1
    bad = Partitioner(custom=lambda key, value, n: n)
    with pytest.raises(ConfigError, match="custom partitioner"):
        bad.partition("t", "k", "v", 3)
    with pytest.raises(ConfigError, match="null_key"):
        Partitioner("random")
