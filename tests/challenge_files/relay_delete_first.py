class Relay:
    """Deletes the row before publishing it."""

    def __init__(self, outbox, broker):
        self.outbox = outbox
        self.broker = broker

    def poll(self):
        for entry in self.outbox.pending():
            self.outbox.delete(entry.entry_id)
            self.broker.publish(entry)
