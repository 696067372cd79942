"""A Kafka-style log broker: partitions and keys, topics, producers, consumer groups.

Contract functions: :func:`kafka_partition` (the Java client's keyed partitioner) and
:func:`assign` (consumer-group assignors).
"""

from labsim.broker.assignors import ASSIGNORS, assign
from labsim.broker.broker import Broker
from labsim.broker.consumer import COMMIT_POLICIES, Consumer, ConsumerConfig
from labsim.broker.log import PartitionLog, Record, Topic, TopicConfig
from labsim.broker.partitioner import (
    Partitioner,
    RoundRobinPartitioner,
    StickyPartitioner,
    kafka_partition,
    murmur2,
)
from labsim.broker.producer import Producer, ProducerConfig, SendResult

__all__ = [
    "ASSIGNORS",
    "COMMIT_POLICIES",
    "Broker",
    "Consumer",
    "ConsumerConfig",
    "PartitionLog",
    "Partitioner",
    "Producer",
    "ProducerConfig",
    "Record",
    "RoundRobinPartitioner",
    "SendResult",
    "StickyPartitioner",
    "Topic",
    "TopicConfig",
    "assign",
    "kafka_partition",
    "murmur2",
]
