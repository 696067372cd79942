"""The broker functions named in the lab's contract, kept importable from their first home.

The Kafka-style model lives in :mod:`labsim.kafka`; this module re-exports the two functions
outside checks call as ``labsim.broker.kafka_partition`` and ``labsim.broker.assign``.
"""

from labsim.kafka.assignors import assign
from labsim.kafka.partitioner import kafka_partition

__all__ = ["assign", "kafka_partition"]
