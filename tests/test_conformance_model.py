"""The RabbitMQ-style model against traces captured from a real RabbitMQ (no server needed).

``data/conformance/rabbitmq-3.10.8.json`` holds what RabbitMQ 3.10.8 did for every script
(``tools/capture_rabbitmq.py`` wrote it). Each script runs on the model and its trace must
equal the server's, or, for a script with a ``known_difference``, differ first exactly at the
events the script names — so fixing the model makes that test fail with the hint to drop the
known difference.
"""

import pytest

from labsim.conformance import (
    CAPTURE_DIR,
    SETTLE_MS,
    SimDriver,
    all_scripts,
    compare,
    load_capture,
    run_script,
    side_by_side,
)

CAPTURE = CAPTURE_DIR / "rabbitmq-3.10.8.json"
SCRIPTS = all_scripts()


@pytest.fixture(scope="module")
def server():
    return load_capture(CAPTURE)


def test_capture_is_from_the_named_server_and_covers_every_script(server):
    assert server["server"] == "RabbitMQ 3.10.8"
    assert server["client"].startswith("pika ")
    assert sorted(server["scripts"]) == sorted(SCRIPTS), "re-run tools/capture_rabbitmq.py"
    for name, s in SCRIPTS.items():
        assert server["scripts"][name]["doc"] == s.doc, f"{name}: doc changed; re-capture"


def test_at_least_twenty_scripts_cover_the_issue_list():
    assert len(SCRIPTS) >= 20
    words = " ".join(f"{n} {s.doc}" for n, s in SCRIPTS.items()).lower()
    for topic in (
        "direct",
        "topic",
        "fanout",
        "prefetch",
        "requeue",
        "redelivered",
        "ttl",
        "dead-letter",
        "max-length",
        "reject-publish",
        "priorit",
        "quorum",
        "delivery-limit",
        "channel",
    ):
        assert topic in words, f"no script about {topic}"


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_model_matches_the_server(name, server):
    s = SCRIPTS[name]
    result = compare(name, run_script(s, SimDriver()), server["scripts"][name]["trace"])
    if not s.known_difference:
        assert result.equal, result.summary
        return
    assert not result.equal, f"{name} now agrees with RabbitMQ: remove its known_difference"
    assert (result.model_event, result.server_event) == (s.model_event, s.server_event), (
        f"{name}: the difference moved ({result.summary}); documented: {s.known_difference}"
    )


def test_the_model_trace_is_deterministic():
    s = SCRIPTS["competing_consumers"]
    assert run_script(s, SimDriver()) == run_script(s, SimDriver(seed=7))


def test_a_different_trace_is_reported_with_the_script_and_first_differing_event(server):
    trace = list(server["scripts"]["nack_requeue_goes_to_head"]["trace"])
    i = trace.index("c <- m1 rk=k redelivered")
    changed = [*trace[:i], "c <- m2 rk=k", *trace[i + 1 :]]  # a model requeueing at the tail
    result = compare("nack_requeue_goes_to_head", changed, trace)
    assert not result.equal
    assert result.index == i
    assert result.model_event == "c <- m2 rk=k"
    assert result.server_event == "c <- m1 rk=k redelivered"
    assert result.before == "c nack m1 requeue"
    assert result.summary.startswith(f"nack_requeue_goes_to_head: first difference at event {i}")
    assert "'c <- m2 rk=k'" in result.summary and "'c <- m1 rk=k redelivered'" in result.summary


def test_a_shorter_trace_differs_at_its_end():
    result = compare("s", ["a", "b"], ["a", "b", "c"])
    assert (result.index, result.model_event, result.server_event) == (2, "(end of trace)", "c")
    assert compare("s", ["a"], ["a"]).summary == "s: model and server agree"


def test_take_lets_the_settle_time_pass_and_records_nothing_explicitly():
    d = SimDriver()
    d.start("t")
    d.exchange("ex", "direct")
    d.queue("q")
    d.consume("q", "c", 1)
    assert d.take("c") == []
    assert d.events[-1] == "c <- (nothing)"
    assert d.world.now == pytest.approx(SETTLE_MS / 1000)


def test_unordered_take_hides_who_got_what_and_names_the_allowance():
    d = SimDriver()
    d.start("t")
    d.exchange("ex", "fanout")
    d.queue("q")
    d.bind("ex", "q")
    for body in ("m2", "m1"):
        d.publish("ex", "", body)
    d.consume("q", "a", 1)
    d.consume("q", "b", 1)
    got = d.take_unordered(["b", "a"], "timing")
    assert sorted(x.body for x in got) == ["m1", "m2"]
    assert d.events[-3:] == ["(any order, any consumer: timing)", "* <- m1 rk=", "* <- m2 rk="]


def test_unknown_queue_arguments_and_unknown_deliveries_are_refused():
    d = SimDriver()
    d.start("t")
    with pytest.raises(ValueError, match="x-expires"):
        d.queue("q", {"x-expires": 1000})
    d.queue("q")
    d.consume("q", "c", 1)
    with pytest.raises(ValueError, match="has not taken"):
        d.ack("c", "m1")


def test_dead_letters_go_to_an_exchange_with_the_queue_routing_key():
    d = SimDriver()
    d.start("t")
    d.exchange("dlx", "topic")
    d.queue("dlq")
    d.bind("dlx", "dlq", "dead.#")
    d.exchange("ex", "direct")
    d.queue("q", {"x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dead.q"})
    d.bind("ex", "q", "k")
    d.publish("ex", "k", "m1")
    d.consume("q", "c", 1)
    d.take("c")
    d.reject("c", "m1")
    d.consume("dlq", "dl", 1)
    [delivery] = d.take("dl")
    assert delivery.routing_key == "dead.q" and delivery.death == "rejected@q"


def test_a_known_difference_must_name_both_first_differing_events():
    from labsim.conformance import script

    with pytest.raises(ValueError, match="both first differing events"):
        script(known_difference="the model does not do X", model_event="a")


def test_side_by_side_puts_the_model_beside_the_captured_server_trace(server):
    table = side_by_side("quorum_delivery_limit")
    trace = server["scripts"]["quorum_delivery_limit"]["trace"]
    assert list(table.columns) == ["model", "server", "same"] and table.index.name == "event"
    assert table["server"].tolist() == trace and table["same"].all()
    assert table.loc[14, "model"] == "c <- m1 rk=k redelivered x-delivery-count=3"
    assert table.attrs == {
        "script": "quorum_delivery_limit",
        "server": "RabbitMQ 3.10.8",
        "summary": "quorum_delivery_limit: model and server agree",
    }


def test_side_by_side_shows_where_traces_differ(tmp_path, monkeypatch, server):
    import json

    import labsim.conformance.trace as trace_module

    changed = json.loads(json.dumps(server))
    lines = changed["scripts"]["quorum_delivery_limit"]["trace"]
    lines[14] = "c <- (nothing)"  # a server that dead-letters one delivery earlier
    del lines[15:]
    (tmp_path / "rabbitmq-0.0.0.json").write_text(json.dumps(changed))
    monkeypatch.setattr(trace_module, "CAPTURE_DIR", tmp_path)
    table = side_by_side("quorum_delivery_limit", version="0.0.0")
    assert len(table) == 19
    assert table.index[~table["same"]].tolist() == [14, 15, 16, 17, 18]
    assert table.loc[15, "server"] == "(end of trace)"
    assert "first difference at event 14" in table.attrs["summary"]


def test_side_by_side_names_an_unknown_script():
    from labsim import ConfigError

    with pytest.raises(ConfigError, match="quorum_delivery_limits") as info:
        side_by_side("quorum_delivery_limits")
    assert info.value.parameter == "script"


#: The cell lesson 03 shows (kept here so the pasted code is known to run and its claims hold).
LESSON_CELL = """
from labsim.claims import claim
from labsim.conformance import side_by_side

trace = side_by_side("quorum_delivery_limit")
left = {column: "{:<44}".format for column in ("model", "server")}
print(trace.loc[6:].to_string(formatters=left, justify="left"))
deliveries = int(trace["server"].str.startswith("c <- m1").sum())
claim(f"the model's trace equals {trace.attrs['server']}'s, event for event",
      trace["same"].all(), f"{len(trace)} events")
claim("with x-delivery-limit 3 the message is delivered 4 times, then dead-lettered",
      deliveries == 4 and trace["server"].iloc[-1].endswith("x-death=delivery_limit@q"),
      f"{deliveries} deliveries")
"""


def test_the_lesson_cell_runs_and_its_claims_hold(capsys):
    exec(compile(LESSON_CELL, "lesson-03-cell", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == "✓ the model's trace equals RabbitMQ 3.10.8's, event for event (19 events)"
    assert out[-1] == (
        "✓ with x-delivery-limit 3 the message is delivered 4 times, then dead-lettered "
        "(4 deliveries)"
    )
    assert "c <- m1 rk=k redelivered x-delivery-count=3" in out[10]
