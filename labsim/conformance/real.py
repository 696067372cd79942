"""The conformance driver on a real RabbitMQ, through ``pika`` (a blocking connection).

Imported only when a real server is wanted (``pika`` is not a dependency of labsim).

* Every name a script declares is prefixed on the server (``labsim-conformance.``) and shown
  without the prefix in the trace, so scripts never touch other users' queues; the driver
  deletes what a script declared before and after running it.
* Publishes go through a channel in publisher-confirm mode: a publish the server nacks (a full
  queue with ``x-overflow=reject-publish``) is recorded as ``refused``.
* Each consumer has its own channel (``basic.qos`` prefetch, manual acknowledgements).
  Deliveries arrive asynchronously; the driver takes what has arrived after letting
  :data:`~labsim.conformance.driver.SETTLE_MS` pass.
* Quorum queues are declared durable (RabbitMQ requires it); classic queues are not.
"""

from __future__ import annotations

from typing import Any

from labsim.conformance.driver import Delivery, Driver

__all__ = ["PREFIX", "RealDriver", "server_answers"]

#: Prefix of every server-side name the scripts declare.
PREFIX = "labsim-conformance."


def server_answers(host: str = "127.0.0.1", port: int = 5672, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port`` (a quick probe)."""
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class RealDriver(Driver):
    """Runs conformance scripts on a RabbitMQ server.

    Args:
        host: Server address.
        port: AMQP port.
        user: User name (``guest`` works from localhost).
        password: Password.
    """

    kind = "rabbitmq"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5672,
        user: str = "guest",
        password: str = "guest",
    ):
        import pika

        super().__init__()
        self._pika = pika
        params = pika.ConnectionParameters(
            host=host,
            port=port,
            credentials=pika.PlainCredentials(user, password),
            heartbeat=0,
        )
        self.connection = pika.BlockingConnection(params)
        self._control: Any = None
        self._declared_queues: list[str] = []
        self._declared_exchanges: list[str] = []
        self._consumers: dict[str, tuple[Any, str, str]] = {}
        self._inbox: dict[str, list[Delivery]] = {}
        #: Why the server refused declarations (reply code and text), for the curious.
        self.refusals: list[str] = []

    @property
    def server_version(self) -> str:
        """``"RabbitMQ 3.10.8"``: product and version the server announced."""
        props = self.connection._impl.server_properties
        product = props.get("product", "RabbitMQ")
        version = props.get("version", "?")
        as_text = [v.decode() if isinstance(v, bytes) else str(v) for v in (product, version)]
        return " ".join(as_text)

    def close_connection(self) -> None:
        """Close the connection to the server."""
        if self.connection.is_open:
            self.connection.close()

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, script: str) -> None:
        """Open a confirm-mode control channel for ``script``."""
        super().start(script)
        self._cleanup()
        self._control = self.connection.channel()
        self._control.confirm_delivery()

    def finish(self) -> None:
        """Close the consumers' channels and delete what the script declared."""
        self._cleanup()

    def _cleanup(self) -> None:
        for channel, _tag, _queue in self._consumers.values():
            if channel.is_open:
                channel.close()
        self._consumers = {}
        self._inbox = {}
        if self._declared_queues or self._declared_exchanges:
            ch = self.connection.channel()
            for q in self._declared_queues:
                ch.queue_delete(PREFIX + q)
            for ex in self._declared_exchanges:
                ch.exchange_delete(PREFIX + ex)
            ch.close()
        self._declared_queues = []
        self._declared_exchanges = []
        if self._control is not None and self._control.is_open:
            self._control.close()
        self._control = None

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _plain(name: str) -> str:
        return name[len(PREFIX) :] if name.startswith(PREFIX) else name

    def _from_pika(self, consumer: str, method: Any, props: Any, body: bytes) -> Delivery:
        headers = props.headers or {}
        count = headers.get("x-delivery-count")
        death = first = death_count = None
        deaths = headers.get("x-death")
        if deaths:
            latest = deaths[0]  # newest first
            death = f"{_text(latest.get('reason'))}@{self._plain(_text(latest.get('queue')))}"
            death_count = int(latest.get("count", 1))
            reason = _text(headers.get("x-first-death-reason", latest.get("reason")))
            queue = self._plain(_text(headers.get("x-first-death-queue", latest.get("queue"))))
            first = f"{reason}@{queue}"
            if first == death:
                first = None
        return Delivery(
            consumer=consumer,
            body=body.decode(),
            routing_key=self._plain(method.routing_key),
            redelivered=bool(method.redelivered),
            delivery_count=None if count is None else int(count),
            death=death,
            first_death=first,
            death_count=death_count,
            tag=method.delivery_tag,
        )

    # -- primitives -----------------------------------------------------------------------------
    def _exchange(self, name: str, kind: str) -> None:
        self._control.exchange_delete(PREFIX + name)
        self._declared_exchanges.append(name)
        self._control.exchange_declare(PREFIX + name, exchange_type=kind)

    def _queue(self, name: str, args: dict[str, Any]) -> str:
        server_args = dict(args)
        if "x-dead-letter-exchange" in server_args:
            server_args["x-dead-letter-exchange"] = PREFIX + server_args["x-dead-letter-exchange"]
        quorum = server_args.get("x-queue-type") == "quorum"
        self._control.queue_delete(PREFIX + name)
        self._declared_queues.append(name)
        try:
            self._control.queue_declare(PREFIX + name, durable=quorum, arguments=server_args)
        except self._pika.exceptions.ChannelClosedByBroker as exc:
            self.refusals.append(f"queue {name}: {exc.reply_code} {exc.reply_text}")
            self._control = self.connection.channel()  # the broker closed the channel
            self._control.confirm_delivery()
            return "refused"
        return "ok"

    def _bind(self, exchange: str, queue: str, key: str) -> None:
        self._control.queue_bind(PREFIX + queue, PREFIX + exchange, routing_key=key)

    def _publish(
        self, exchange: str, key: str, body: str, priority: int | None, expiration_ms: int | None
    ) -> str:
        props = self._pika.BasicProperties(
            priority=priority,
            expiration=None if expiration_ms is None else str(expiration_ms),
        )
        try:
            self._control.basic_publish(PREFIX + exchange, key, body.encode(), properties=props)
        except self._pika.exceptions.NackError:
            return "refused"
        return "ok"

    def _consume(self, queue: str, consumer: str, prefetch: int) -> None:
        channel = self.connection.channel()
        channel.basic_qos(prefetch_count=prefetch)
        inbox: list[Delivery] = []
        self._inbox[consumer] = inbox

        def on_message(_ch: Any, method: Any, props: Any, body: bytes) -> None:
            inbox.append(self._from_pika(consumer, method, props, body))

        tag = channel.basic_consume(PREFIX + queue, on_message, auto_ack=False)
        self._consumers[consumer] = (channel, tag, queue)

    def _collect(self, consumer: str) -> list[Delivery]:
        self.connection.process_data_events(time_limit=0)
        inbox = self._inbox[consumer]
        got = list(inbox)
        inbox.clear()
        return got

    def _settle(self, consumer: str, delivery: Delivery, how: str, requeue: bool) -> None:
        channel = self._consumers[consumer][0]
        if how == "ack":
            channel.basic_ack(delivery.tag)
        elif how == "nack":
            channel.basic_nack(delivery.tag, requeue=requeue)
        else:
            channel.basic_reject(delivery.tag, requeue=requeue)

    def _cancel(self, consumer: str) -> None:
        channel, tag, _queue = self._consumers[consumer]
        channel.basic_cancel(tag)

    def _close(self, consumer: str) -> None:
        channel = self._consumers[consumer][0]
        channel.close()

    def _count(self, queue: str) -> int:
        self.connection.process_data_events(time_limit=0)
        ok = self._control.queue_declare(PREFIX + queue, passive=True)
        return int(ok.method.message_count)

    def _wait(self, seconds: float) -> None:
        self.connection.sleep(seconds)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
