"""The Kafka-style model: partitions and keys, topic logs, a broker, producers, consumer groups.

Rooms: :mod:`~labsim.kafka.partitioner` (keys to partitions), :mod:`~labsim.kafka.log` (topics
and partition logs), :mod:`~labsim.kafka.messages` (what clients and broker say to each
other), :mod:`~labsim.kafka.broker` (produce and fetch), :mod:`~labsim.kafka.group` (the group
coordinator), :mod:`~labsim.kafka.assignors`, :mod:`~labsim.kafka.producer` and
:mod:`~labsim.kafka.consumer` with their settings in :mod:`~labsim.kafka.config`.

Contract functions: :func:`kafka_partition` (the Java client's keyed partitioner) and
:func:`assign` (consumer-group assignors).
"""

from labsim.kafka.assignors import ASSIGNORS, assign, rebalance_protocol
from labsim.kafka.broker import Broker
from labsim.kafka.config import COMMIT_POLICIES, ConsumerConfig, ProducerConfig
from labsim.kafka.consumer import Consumer
from labsim.kafka.group import GroupCoordinator
from labsim.kafka.log import PartitionLog, Record, Topic, TopicConfig
from labsim.kafka.partitioner import (
    Partitioner,
    RoundRobinPartitioner,
    StickyPartitioner,
    kafka_partition,
    murmur2,
)
from labsim.kafka.producer import Producer, SendResult

__all__ = [
    "ASSIGNORS",
    "COMMIT_POLICIES",
    "Broker",
    "Consumer",
    "ConsumerConfig",
    "GroupCoordinator",
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
    "rebalance_protocol",
]
