"""Every conformance script live on a real RabbitMQ, compared with the model.

Runs only when ``LABSIM_REAL_RABBITMQ=1`` (``make test-real`` sets it after
``tools/rabbitmq.sh start``); the server is then required, not optional: no server on
``LABSIM_RABBITMQ_HOST`` (default 127.0.0.1):5672 is a failure, so CI cannot pass by skipping.
A server merely answering on the port does not switch these tests on: ``make test`` stays the
same on every machine, and the model is checked against the captured traces there
(tests/test_conformance_model.py).
"""

import os

import pytest

from labsim.conformance import CAPTURE_DIR, SimDriver, all_scripts, compare, run_script

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(
        os.environ.get("LABSIM_REAL_RABBITMQ") != "1",
        reason="set LABSIM_REAL_RABBITMQ=1 to run against a real RabbitMQ (make test-real)",
    ),
]

SCRIPTS = all_scripts()
HOST = os.environ.get("LABSIM_RABBITMQ_HOST", "127.0.0.1")


@pytest.fixture(scope="module")
def real():
    from labsim.conformance.real import RealDriver, server_answers

    assert server_answers(HOST, 5672), f"no RabbitMQ on {HOST}:5672 (tools/rabbitmq.sh start)"
    driver = RealDriver(HOST)
    yield driver
    driver.close_connection()


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_server_matches_the_model(name, real):
    s = SCRIPTS[name]
    live = run_script(s, real)
    result = compare(name, run_script(s, SimDriver()), live)
    if not s.known_difference:
        assert result.equal, f"{real.server_version}: {result.summary}"
    else:
        assert not result.equal, f"{name} now agrees with {real.server_version}"
        assert (result.model_event, result.server_event) == (s.model_event, s.server_event), (
            f"{real.server_version}: {result.summary}; documented: {s.known_difference}"
        )


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_server_matches_its_captured_trace(name, real):
    capture = CAPTURE_DIR / f"rabbitmq-{real.server_version.split()[-1]}.json"
    if not capture.exists():
        pytest.skip(f"no captured traces for {real.server_version}")
    from labsim.conformance import load_capture

    captured = load_capture(capture)["scripts"][name]["trace"]
    result = compare(name, captured, run_script(SCRIPTS[name], real))
    assert result.equal, f"the server no longer does what was captured: {result.summary}"
