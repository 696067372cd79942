"""Challenge 7 (lesson 11): a shopping-cart CRDT.

The learner writes ``Cart`` with value semantics: ``add`` and ``remove`` return a new cart,
``merge`` joins two carts, ``items()`` reads the quantities. Its merge laws (commutative,
associative, idempotent) are checked with hypothesis; then three replicas (nodes ``r1`` to
``r3``) take adds and removes and gossip their whole state through partitions and
duplication: after the heal every replica must hold the same cart, with every quantity equal
to the adds minus the removes made on all replicas.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pandas as pd

from labsim.challenges.base import Challenge, LearnerError, Node, Outcome, Target, guard
from labsim.checks import CheckResult, check_convergence
from labsim.faults import FaultPlan
from labsim.network import Network
from labsim.world import World

__all__ = ["CHALLENGE", "laws"]

REPLICAS = ("r1", "r2", "r3")
ITEMS = ("apple", "bread", "cheese")
#: Seconds between two gossip rounds of a replica.
GOSSIP = 0.1

STARTER = '''"""Challenge cart-crdt (lesson 11): a shopping cart that converges.

Carts are values: ``add`` and ``remove`` return a NEW cart; ``merge`` joins two carts and
must be commutative, associative and idempotent. Replicas gossip whole carts through
partitions and duplicated messages; after the heal every replica must show, for each item,
the adds minus the removes made anywhere.

Check it:  labsim challenge check cart-crdt THIS_FILE.py
"""


class Cart:
    def __init__(self):
        self.quantities = {}

    def add(self, replica, item):
        """A new cart with one more ``item``, added on ``replica`` (a str such as "r1")."""
        out = Cart()
        out.quantities = dict(self.quantities)
        out.quantities[item] = out.quantities.get(item, 0) + 1
        return out

    def remove(self, replica, item):
        """A new cart with one ``item`` fewer, removed on ``replica``."""
        out = Cart()
        out.quantities = dict(self.quantities)
        out.quantities[item] = out.quantities.get(item, 0) - 1
        return out

    def merge(self, other):
        """A new cart joining ``self`` and ``other``."""
        return self

    def items(self):
        """``{item: quantity}`` for quantities other than 0."""
        return {k: v for k, v in self.quantities.items() if v}
'''


def _build(cls: type, ops: list[tuple[str, str, str]]) -> Any:
    cart = cls()
    for op, replica, item in ops:
        cart = getattr(cart, op)(replica, item)
    return cart


def laws(cls: type) -> CheckResult:
    """Merge laws checked with hypothesis (derandomized: the same class gives the same result).

    Returns:
        A :class:`CheckResult` whose anomalies hold the smallest counterexample found.
    """
    from hypothesis import HealthCheck, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample

    op = st.tuples(
        st.sampled_from(["add", "remove"]), st.sampled_from(REPLICAS[:2]), st.sampled_from(ITEMS)
    )
    ops = st.lists(op, max_size=4)
    config = settings(
        derandomize=True,
        database=None,
        max_examples=150,
        suppress_health_check=list(HealthCheck),
    )
    checks = {
        "commutative": lambda a, b, c: a.merge(b).items() == b.merge(a).items(),
        "associative": lambda a, b, c: a.merge(b).merge(c).items() == a.merge(b.merge(c)).items(),
        "idempotent": lambda a, b, c: a.merge(a).items() == a.items(),
    }
    for law, holds in checks.items():

        def broken(t: tuple[Any, ...], holds: Any = holds) -> bool:
            carts = [_build(cls, x) for x in t]
            return not holds(*carts)

        try:
            example = find(st.tuples(ops, ops, ops), broken, settings=config)
        except NoSuchExample:
            continue
        except Exception as exc:
            raise LearnerError(f"your Cart raised {type(exc).__name__}: {exc}") from None
        rows = [
            {"law": law, "cart": n, "operations": str(x)}
            for n, x in zip("abc", example, strict=True)
        ]
        return CheckResult(
            "merge laws",
            False,
            pd.DataFrame(rows),
            f"merge is not {law} (smallest carts a, b, c built from these operations)",
        )
    return CheckResult(
        "merge laws", True, pd.DataFrame(), "commutative, associative and idempotent"
    )


def _run(cls: type, world: World, network: Network, plan: FaultPlan, size: int) -> Outcome:
    rows = world.table("challenge.ops", ("time", "replica", "op", "item")).add
    samples = world.table("challenge.divergence", ("time", "distinct_states")).add
    nodes = {r: Node(world, network, r, plan, cls) for r in REPLICAS}
    state: dict[str, Any] = {r: guard(nodes[r], cls) for r in REPLICAS}
    rng = world.rng("challenge.cart")
    write_end = 2.5

    def writer() -> Generator[Any, Any, None]:
        for _ in range(size):
            yield world.timeout(rng.uniform(0.0, write_end / size))
            replica, item = rng.choice(REPLICAS), rng.choice(ITEMS)
            op = "remove" if rng.random() < 0.25 else "add"
            node = nodes[replica]
            node.step(op, item)
            state[replica] = guard(node, getattr(state[replica], op), replica, item)
            rows(world.now, replica, op, item)

    def gossip(replica: str) -> Generator[Any, Any, None]:
        node = network.node(replica)
        while True:
            yield world.timeout(GOSSIP)
            while node.inbox.items:
                other = yield node.inbox.get()
                state[replica] = guard(nodes[replica], state[replica].merge, other)
            peer = rng.choice([r for r in REPLICAS if r != replica])
            network.send(replica, peer, state[replica])
            samples(world.now, len({_key(nodes[r], state[r]) for r in REPLICAS}))

    for r in REPLICAS:
        world.process(gossip(r))
    world.process(writer())
    end = 5.0
    world.run(until=end)
    frames = world.frames()
    conv = check_convergence(frames["challenge.divergence"], quiet_from=4.0)
    ops = frames["challenge.ops"]
    expected: dict[str, int] = {}
    for op, item in zip(ops["op"], ops["item"], strict=True):
        expected[item] = expected.get(item, 0) + (1 if op == "add" else -1)
    expected = {k: v for k, v in expected.items() if v}
    bad = []
    for r in REPLICAS:
        got = guard(nodes[r], state[r].items)
        for item in sorted(set(expected) | set(got)):
            if got.get(item, 0) != expected.get(item, 0):
                want = expected.get(item, 0)
                bad.append({"replica": r, "item": item, "has": got.get(item, 0), "expected": want})
    wrong = CheckResult(
        "quantities",
        not bad,
        pd.DataFrame(bad, columns=["replica", "item", "has", "expected"]),
        f"{len(bad)} (replica, item) quantities differ from adds minus removes",
    )
    figures = {
        "distinct_final_states": float(frames["challenge.divergence"]["distinct_states"].iloc[-1]),
        "wrong_quantities": float(len(bad)),
    }
    return Outcome(figures, [conv, wrong], frames, list(REPLICAS), end)


def _key(node: Node, cart: Any) -> tuple[Any, ...]:
    return tuple(sorted(guard(node, cart.items).items()))


CHALLENGE = Challenge(
    name="cart-crdt",
    lesson="11_conflict_resolution",
    goal="write merge for a cart CRDT that converges through partitions and duplication",
    invariant="merge is commutative, associative and idempotent; after the heal all replicas "
    "hold one cart whose quantities are the adds minus the removes",
    targets=(
        Target("distinct_final_states", "<=", 1, "replica states at the end"),
        Target("wrong_quantities", "<=", 0, "(replica, item) quantities that are wrong"),
    ),
    fault_kinds=("partition", "duplication", "loss"),
    class_name="Cart",
    methods=("add", "remove", "merge", "items"),
    starter=STARTER,
    runner=_run,
    nodes=REPLICAS,
    duration=4.0,
    size=12,
    laws=laws,
)
