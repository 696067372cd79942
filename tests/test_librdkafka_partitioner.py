"""librdkafka's default partitioner (consistent_random) beside the Java client's murmur2."""

import random
import zlib

import pytest

from labsim import ConfigError
from labsim.broker import kafka_partition
from labsim.conformance.librdkafka import compare_clients, consistent_partition, crc32


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"123456789", 0xCBF43926),  # the CRC-32 check value (IEEE 802.3 / zlib / rd_crc32)
        (b"The quick brown fox jumps over the lazy dog", 0x414FA339),
        (b"a", 0xE8B7BE43),
        (b"", 0),
    ],
)
def test_crc32_gives_the_published_values(data, expected):
    assert crc32(data) == expected == zlib.crc32(data)


def test_a_key_goes_to_its_crc32_modulo_the_partition_count():
    assert consistent_partition(b"123456789", 6) == 0xCBF43926 % 6 == 2
    assert consistent_partition(b"123456789", 7) == 0xCBF43926 % 7
    assert consistent_partition("order-1", 6) == 3769860079 % 6 == 1


def test_a_str_key_is_hashed_as_utf8():
    assert consistent_partition("café", 1000) == consistent_partition("café".encode(), 1000)
    assert consistent_partition("café", 1000) == crc32(b"caf\xc3\xa9") % 1000


def test_null_and_empty_keys_are_spread_at_random_from_the_given_stream():
    picks = [consistent_partition(None, 6, random.Random(1)) for _ in range(3)]
    assert picks == [random.Random(1).randrange(6)] * 3
    spread = {consistent_partition(b"", 6, rng) for rng in [random.Random(0)] for _ in range(200)}
    assert spread == set(range(6))
    with pytest.raises(ConfigError, match="rng"):
        consistent_partition(None, 6)


def test_bad_input_is_refused():
    with pytest.raises(ConfigError, match="num_partitions"):
        consistent_partition(b"k", 0)
    with pytest.raises(ConfigError, match="key"):
        consistent_partition(42, 6)


def test_lesson_line_keys_land_on_different_partitions_under_the_two_clients():
    # For the lesson: 6 partitions; Java client (murmur2) vs librdkafka (crc32).
    assert compare_clients(["order-1", "alice", "bob", "order-2"], 6) == [
        ("order-1", 4, 1),
        ("alice", 3, 5),
        ("bob", 0, 2),
        ("order-2", 3, 3),  # some keys agree by chance
    ]
    assert kafka_partition("order-1", 6) == 4
