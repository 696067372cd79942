class RetryPolicy:
    """Capped exponential backoff without jitter: calls that failed together retry together."""

    def __init__(self, rng):
        self.rng = rng

    def delay(self, attempt):
        return min(1.0, 0.05 * 2 ** (attempt - 2))
