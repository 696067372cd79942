"""The RabbitMQ-style model: exchanges, queues, workers with retry policies, an inbox.

==========================  ==============================================================
module                      what it holds
==========================  ==============================================================
:mod:`~.message`            :class:`Message` (what sits in a queue), :class:`Delivery`
:mod:`~.queues`             :class:`Queue` (prefetch, ack/nack/requeue, TTL, dead-lettering,
                            delivery limit, priorities, max length), :class:`Channel`
:mod:`~.exchanges`          :class:`Exchange` (direct, topic, fanout) and its bindings
:mod:`~.broker`             :class:`MessageBroker`: queues and exchanges declared by name
:mod:`~.messages`           :class:`Publish`, :class:`Confirm`, :class:`Nack` (the wire)
:mod:`~.server`             :class:`BrokerServer` (a broker on a node), :class:`Publisher`
:mod:`~.retry`              :class:`RetryPolicy` (backoff, jitter), :class:`FailureModel`
:mod:`~.inbox`              :class:`Inbox` (the idempotent consumer's processed ids)
:mod:`~.workers`            :class:`Worker`, :func:`start_workers`
==========================  ==============================================================
"""

from labsim.amqp.broker import DEFAULT_EXCHANGE, MessageBroker, Routed
from labsim.amqp.exchanges import EXCHANGE_KINDS, Binding, Exchange, topic_matches
from labsim.amqp.inbox import Inbox
from labsim.amqp.message import Delivery, Message
from labsim.amqp.messages import Confirm, Nack, Publish
from labsim.amqp.queues import Channel, Queue
from labsim.amqp.retry import JITTER, RETRY_KINDS, FailureModel, RetryPolicy
from labsim.amqp.server import BrokerServer, Publisher
from labsim.amqp.workers import Worker, start_workers

__all__ = [
    "DEFAULT_EXCHANGE",
    "EXCHANGE_KINDS",
    "JITTER",
    "RETRY_KINDS",
    "Binding",
    "BrokerServer",
    "Channel",
    "Confirm",
    "Delivery",
    "Exchange",
    "FailureModel",
    "Inbox",
    "Message",
    "MessageBroker",
    "Nack",
    "Publish",
    "Publisher",
    "Queue",
    "RetryPolicy",
    "Routed",
    "Worker",
    "start_workers",
    "topic_matches",
]
