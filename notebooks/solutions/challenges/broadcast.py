"""Reference solution of challenge broadcast (lesson 11).

Every pair of nodes is linked, so the node a value was broadcast on sends it straight to
every peer, and each peer acknowledges it (8 messages per broadcast with no fault; peers do
not relay, which would cost 24 more). Every tick, the values a peer has not acknowledged
yet are sent to it again, in one message per peer: a partition or a lossy link delays a
value until the first tick after the heal, never loses it, and retries cost one message per
peer per tick only while something is unacknowledged.
"""


class Broadcaster:
    def __init__(self, node_id, peers, net):
        self.node_id = node_id
        self.peers = peers
        self.net = net
        self.values = set()
        self.unacked = {p: set() for p in peers}  # values each peer has not acknowledged

    def broadcast(self, value):
        self.values.add(value)
        for p in self.peers:
            self.unacked[p].add(value)
            self.net.send(p, ("values", [value]))

    def receive(self, src, msg):
        kind, values = msg
        if kind == "values":
            self.values |= set(values)
            self.net.send(src, ("ack", values))
        else:
            self.unacked[src] -= set(values)

    def tick(self):
        for p, values in self.unacked.items():
            if values:
                self.net.send(p, ("values", sorted(values)))

    def read(self):
        return set(self.values)
