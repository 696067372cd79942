class Consumer:
    def __init__(self, store):
        self.store = store
        self.seen = set()

    def handle(self, message):
        if message.msg_id in self.seen:
            return
        self.store.apply(message.msg_id, message.data["amount"])
        self.seen.add(message.msg_id)
