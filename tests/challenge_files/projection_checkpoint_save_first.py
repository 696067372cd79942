class Projector:
    """Waits at gaps, but saves the checkpoint before applying the event (no transaction)."""

    def __init__(self, log, store):
        self.log = log
        self.store = store

    def poll(self):
        checkpoint = self.store.get("checkpoint", 0)
        for event in self.log.read(checkpoint):
            if event.position != checkpoint + 1:
                return
            self.store.put("checkpoint", event.position)
            self.store.apply(event.position, event.data)
            checkpoint = event.position
