"""Same seed, same frames — in this process and in fresh processes with other hash seeds."""

import hashlib
import os
import subprocess
import sys

import pandas as pd

from labsim.scenarios import network

SCRIPT = """
import hashlib, pandas as pd
from labsim.scenarios import network
from labsim import chaos
r = network.run(seed=11, loss=0.05, duplicate=0.05, reorder=True)
h = hashlib.sha256()
for name, frame in r.frames.items():
    h.update(name.encode())
    h.update(pd.util.hash_pandas_object(frame, index=True).values.tobytes())
h.update(str(chaos(5, 60, ["partition", "crash", "loss"], nodes=["a", "b", "c"])).encode())
# Scenarios whose state holds sets and dicts: their results must not depend on string hashing.
from labsim.scenarios import conflicts, delivery, groups
for policy in ("lww-physical", "version-vectors"):
    s = conflicts.run(seed=3, policy=policy, resolver="pick-one", writes=40, skew=1.0).summary
    h.update(repr(sorted(s.items())).encode())
h.update(repr(sorted(delivery.run("at-least-once", 2, 200).summary.items())).encode())
h.update(repr(sorted(groups.run(seed=2, duration=6, drain=2).summary.items())).encode())
print(h.hexdigest())
"""


def test_same_seed_gives_identical_frames():
    a = network.run(seed=11, loss=0.05, duplicate=0.05, reorder=True)
    b = network.run(seed=11, loss=0.05, duplicate=0.05, reorder=True)
    assert a.frames.keys() == b.frames.keys()
    for name in a.frames:
        pd.testing.assert_frame_equal(a.frames[name], b.frames[name])
    c = network.run(seed=12, loss=0.05, duplicate=0.05, reorder=True)
    assert not a.frames["net.deliveries"].equals(c.frames["net.deliveries"])


def test_identical_frames_across_processes_with_different_hash_seeds():
    digests = set()
    for hash_seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1
    assert len(hashlib.sha256().hexdigest()) == len(digests.pop())
