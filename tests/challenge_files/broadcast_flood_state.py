class Broadcaster:
    """Sends its whole state to every peer on every tick: never loses, costs a flood."""

    def __init__(self, node_id, peers, net):
        self.peers = peers
        self.net = net
        self.values = set()

    def broadcast(self, value):
        self.values.add(value)

    def receive(self, src, msg):
        self.values |= msg

    def tick(self):
        for p in self.peers:
            self.net.send(p, frozenset(self.values))

    def read(self):
        return set(self.values)
