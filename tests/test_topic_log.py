import pytest

from labsim import ConfigError
from labsim.kafka import Topic, TopicConfig


def test_offsets_are_sequential_and_reads_start_anywhere():
    topic = Topic("t", TopicConfig(partitions=2))
    log = topic.partitions[0]
    assert [log.append(f"k{i}", i, float(i)) for i in range(5)] == [0, 1, 2, 3, 4]
    assert [r.offset for r in log.read(2, 10)] == [2, 3, 4]
    assert [r.value for r in log.read(0, 2)] == [0, 1]
    assert log.end_offset == 5 and topic.partitions[1].end_offset == 0


def test_retention_by_time_and_by_count_moves_the_log_start():
    topic = Topic("t", TopicConfig(retention_time=10.0))
    log = topic.partitions[0]
    for i in range(10):
        log.append(None, i, float(i * 2))  # timestamps 0, 2, ..., 18
    topic.apply_retention(now=20.0)  # keeps timestamps >= 10
    assert [r.value for r in log.records] == [5, 6, 7, 8, 9]
    assert log.start_offset == 5 and log.end_offset == 10
    by_count = Topic("c", TopicConfig(retention_records=3))
    for i in range(10):
        by_count.partitions[0].append(None, i, 0.0)
    by_count.apply_retention(now=0.0)
    assert [r.offset for r in by_count.partitions[0].records] == [7, 8, 9]


def test_compaction_keeps_latest_per_key_and_drops_old_tombstones():
    topic = Topic("t", TopicConfig(compacted=True, delete_retention=5.0))
    log = topic.partitions[0]
    log.append("a", 1, 0.0)
    log.append("b", 1, 0.0)
    log.append("a", 2, 1.0)
    log.append("b", None, 2.0)  # tombstone for b
    log.append(None, "no key", 2.0)
    topic.apply_retention(now=3.0)
    assert [(r.offset, r.key, r.value) for r in log.records] == [
        (2, "a", 2),
        (3, "b", None),
        (4, None, "no key"),
    ]
    topic.apply_retention(now=10.0)  # the tombstone is older than delete_retention
    assert [r.key for r in log.records] == ["a", None]
    assert log.end_offset == 5  # offsets are never reused


def test_topics_only_grow():
    topic = Topic("t", TopicConfig(partitions=2))
    topic.add_partitions(4)
    assert len(topic.partitions) == 4 and topic.config.partitions == 4
    with pytest.raises(ConfigError, match="only grow"):
        topic.add_partitions(3)


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"partitions": 0}, "partitions"),
        ({"retention_time": 0}, "retention_time"),
        ({"retention_records": 0}, "retention_records"),
        ({"delete_retention": -1}, "delete_retention"),
    ],
)
def test_bad_topic_config(kwargs, parameter):
    with pytest.raises(ConfigError) as info:
        TopicConfig(**kwargs)
    assert info.value.parameter == parameter
