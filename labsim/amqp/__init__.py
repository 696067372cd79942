"""The RabbitMQ-style model: exchanges, queues, workers with retry policies, an inbox.

==========================  ==============================================================
module                      what it holds
==========================  ==============================================================
:mod:`~.message`            :class:`Message` (what sits in a queue), :class:`Delivery`,
                            the ``x-death`` history (:func:`deaths`)
:mod:`~.queues`             :class:`Queue` (classic or quorum; prefetch, requeue, TTL,
                            dead-lettering, delivery limit, priorities, max length)
:mod:`~.channel`            :class:`Channel`: a consumer's prefetch window, ack/nack/reject,
                            cancel, close
:mod:`~.exchanges`          :class:`Exchange` (direct, topic, fanout) and its bindings
:mod:`~.broker`             :class:`MessageBroker`: queues and exchanges declared by name;
                            :class:`DeadLetterExchange`
:mod:`~.messages`           :class:`Publish`, :class:`Confirm`, :class:`Nack` (the wire)
:mod:`~.server`             :class:`BrokerServer` (a broker on a node), :class:`Publisher`
:mod:`~.retry`              :class:`RetryPolicy` (backoff, jitter), :class:`FailureModel`
:mod:`~.inbox`              :class:`Inbox` (the idempotent consumer's processed ids)
:mod:`~.workers`            :class:`Worker`, :func:`start_workers`
==========================  ==============================================================
"""

from labsim.amqp.broker import DEFAULT_EXCHANGE, DeadLetterExchange, MessageBroker, Routed
from labsim.amqp.channel import Channel
from labsim.amqp.exchanges import EXCHANGE_KINDS, Binding, Exchange, topic_matches
from labsim.amqp.inbox import Inbox
from labsim.amqp.message import Delivery, Message, deaths
from labsim.amqp.messages import Confirm, Nack, Publish
from labsim.amqp.queues import QUEUE_TYPES, Queue
from labsim.amqp.retry import JITTER, RETRY_KINDS, FailureModel, RetryPolicy
from labsim.amqp.server import BrokerServer, Publisher
from labsim.amqp.workers import Worker, start_workers

__all__ = [
    "DEFAULT_EXCHANGE",
    "EXCHANGE_KINDS",
    "JITTER",
    "QUEUE_TYPES",
    "RETRY_KINDS",
    "Binding",
    "BrokerServer",
    "Channel",
    "Confirm",
    "DeadLetterExchange",
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
    "deaths",
    "start_workers",
    "topic_matches",
]
