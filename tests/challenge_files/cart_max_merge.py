class Cart:
    """Quantities merged with max(): concurrent adds are lost."""

    def __init__(self, q=None):
        self.q = dict(q or {})

    def add(self, replica, item):
        return Cart({**self.q, item: self.q.get(item, 0) + 1})

    def remove(self, replica, item):
        return Cart({**self.q, item: self.q.get(item, 0) - 1})

    def merge(self, other):
        keys = set(self.q) | set(other.q)
        return Cart({k: max(self.q.get(k, 0), other.q.get(k, 0)) for k in keys})

    def items(self):
        return {k: v for k, v in self.q.items() if v}
