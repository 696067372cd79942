class Consumer:
    """Commits the batch before processing it: a crash in between loses the batch."""

    def __init__(self, partition, store):
        self.partition = partition
        self.store = store

    def handle(self, records):
        self.partition.commit(records[-1].offset + 1)
        for record in records:
            self.store.apply(record.key, record.value)
