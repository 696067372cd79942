class Broadcaster:
    """Sends a new value once to every peer, without acknowledgement or retry."""

    def __init__(self, node_id, peers, net):
        self.peers = peers
        self.net = net
        self.values = set()

    def broadcast(self, value):
        self.values.add(value)
        for p in self.peers:
            self.net.send(p, value)

    def receive(self, src, msg):
        self.values.add(msg)

    def tick(self):
        pass

    def read(self):
        return set(self.values)
