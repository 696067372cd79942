"""Reference solution of challenge idempotent-consumer (lesson 03).

The id of each applied message is stored in the same transaction as its effect: a crash
before the commit loses both (the redelivery applies it), a crash after it keeps both (the
redelivery is recognised and skipped).
"""


class Consumer:
    def __init__(self, store):
        self.store = store

    def handle(self, message):
        key = f"seen:{message.msg_id}"
        with self.store.transaction():
            if self.store.get(key):
                return
            self.store.apply(message.msg_id, message.data["amount"])
            self.store.put(key, True)
