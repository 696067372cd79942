"""Reference solution of challenge cart-crdt (lesson 11).

Each item is a PN-counter: per replica, how many adds and how many removes it made. Merge
takes the larger count per (item, replica, kind): commutative, associative and idempotent,
and no concurrent add is lost.
"""


class Cart:
    def __init__(self, counts=None):
        self.counts = dict(counts or {})  # (item, replica, "add" | "remove") -> count

    def _bump(self, replica, item, kind):
        key = (item, replica, kind)
        return Cart({**self.counts, key: self.counts.get(key, 0) + 1})

    def add(self, replica, item):
        return self._bump(replica, item, "add")

    def remove(self, replica, item):
        return self._bump(replica, item, "remove")

    def merge(self, other):
        keys = set(self.counts) | set(other.counts)
        return Cart({k: max(self.counts.get(k, 0), other.counts.get(k, 0)) for k in keys})

    def items(self):
        out = {}
        for (item, _replica, kind), n in self.counts.items():
            out[item] = out.get(item, 0) + (n if kind == "add" else -n)
        return {k: v for k, v in out.items() if v}
