class Consumer:
    """A dedupe window that forgets: only the last 2 ids are remembered."""

    def __init__(self, store):
        self.store = store

    def handle(self, message):
        with self.store.transaction():
            window = self.store.get("window", [])
            if message.msg_id in window:
                return
            self.store.apply(message.msg_id, message.data["amount"])
            self.store.put("window", ([*window, message.msg_id])[-2:])
