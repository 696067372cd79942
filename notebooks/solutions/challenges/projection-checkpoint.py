"""Reference solution of challenge projection-checkpoint (lesson 08).

The checkpoint is stored in the same transaction as the event's effect: a crash before the
commit loses both (the event is read and applied again), a crash after it keeps both. The
projector advances only over contiguous positions: at a gap (the next position is not
visible yet) it stops and waits for a later poll, because the missing commit will land.
"""


class Projector:
    def __init__(self, log, store):
        self.log = log
        self.store = store

    def poll(self):
        checkpoint = self.store.get("checkpoint", 0)
        for event in self.log.read(checkpoint, limit=10):
            if event.position != checkpoint + 1:
                return  # a gap: an earlier commit is still in flight
            with self.store.transaction():
                self.store.apply(event.position, event.data)
                self.store.put("checkpoint", event.position)
            checkpoint = event.position
