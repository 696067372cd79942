"""The models checked against the real thing (DESIGN principle 10).

RabbitMQ: the same plain scripts (:mod:`.scripts`, :mod:`.scripts_queues`) run on the lab's
RabbitMQ-style model (:class:`SimDriver`) and on a real server (:class:`~labsim.conformance.
real.RealDriver`, imported lazily: it needs ``pika``); each run records a trace of what can be
observed, and :func:`compare` names the first event where two traces differ. The server's
traces are kept in ``data/conformance/`` (``tools/capture_rabbitmq.py`` writes them), so the
model is checked against them without a server; :func:`side_by_side` shows a script's two
traces as a table.

Kafka: :func:`~labsim.conformance.librdkafka.consistent_partition`, librdkafka's default
partitioner, beside the Java client's (:func:`labsim.broker.kafka_partition`).

Example:
    >>> from labsim.conformance import SCRIPTS, SimDriver, all_scripts, run_script
    >>> trace = run_script(all_scripts()["fanout_routing"], SimDriver())
    >>> trace[-1]
    'c-q3 <- m2 rk='
"""

from labsim.conformance.driver import QUEUE_ARGUMENTS, SETTLE_MS, Delivery, Driver
from labsim.conformance.librdkafka import consistent_partition, crc32
from labsim.conformance.scripts import SCRIPTS, Script, all_scripts, script
from labsim.conformance.sim import SimDriver
from labsim.conformance.trace import (
    CAPTURE_DIR,
    SERVER_VERSION,
    Comparison,
    capture_path,
    compare,
    load_capture,
    run_script,
    save_capture,
    side_by_side,
)

__all__ = [
    "CAPTURE_DIR",
    "QUEUE_ARGUMENTS",
    "SCRIPTS",
    "SERVER_VERSION",
    "SETTLE_MS",
    "Comparison",
    "Delivery",
    "Driver",
    "Script",
    "SimDriver",
    "all_scripts",
    "capture_path",
    "compare",
    "consistent_partition",
    "crc32",
    "load_capture",
    "run_script",
    "save_capture",
    "script",
    "side_by_side",
]
