"""The Kafka-style model: partitions and keys, topic logs, a broker, producers, consumer groups.

Contract functions: :func:`kafka_partition` (the Java client's keyed partitioner) and
:func:`assign` (consumer-group assignors).
"""

from labsim.kafka.assignors import ASSIGNORS, assign
from labsim.kafka.broker import Broker
from labsim.kafka.consumer import COMMIT_POLICIES, Consumer, ConsumerConfig
from labsim.kafka.log import PartitionLog, Record, Topic, TopicConfig
from labsim.kafka.partitioner import (
    Partitioner,
    RoundRobinPartitioner,
    StickyPartitioner,
    kafka_partition,
    murmur2,
)
from labsim.kafka.producer import Producer, ProducerConfig, SendResult

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
