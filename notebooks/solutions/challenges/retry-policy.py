"""Reference solution of challenge retry-policy (lesson 03).

Capped exponential backoff with full jitter: the wait before attempt n is drawn uniformly
between 0 and min(cap, base * 2 ** (n - 2)). The calls that failed together at a crash draw
different waits, so their retries spread over many windows instead of arriving as one wave;
the cap keeps every call retrying often enough to finish soon after the outage.
"""

BASE = 0.5  # seconds: range of the first retry's wait
CAP = 1.0  # seconds: longest wait


class RetryPolicy:
    def __init__(self, rng):
        self.rng = rng

    def delay(self, attempt):
        return self.rng.uniform(0, min(CAP, BASE * 2 ** (attempt - 2)))
