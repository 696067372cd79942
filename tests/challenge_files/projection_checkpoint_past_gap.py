class Projector:
    """Durable checkpoint in one transaction with the effect, but it jumps over gaps."""

    def __init__(self, log, store):
        self.log = log
        self.store = store

    def poll(self):
        checkpoint = self.store.get("checkpoint", 0)
        for event in self.log.read(checkpoint):
            with self.store.transaction():
                self.store.apply(event.position, event.data)
                self.store.put("checkpoint", event.position)
