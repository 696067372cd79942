"""The RabbitMQ-style model: exchanges and bindings, queues, workers with retry policies, inbox."""
