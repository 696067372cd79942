#!/usr/bin/env bash
# Start or stop a local RabbitMQ for the conformance tests (make test-real).
#
#   tools/rabbitmq.sh start   install Debian's rabbitmq-server if missing, start it detached on
#                             127.0.0.1:5672 (guest/guest), wait until it serves
#   tools/rabbitmq.sh stop    stop the server this script started, and the epmd it leaves
#
# A server that is already running is used as it is and left running by `stop`.
set -euo pipefail

STAMP="${TMPDIR:-/tmp}/labsim-rabbitmq.started"
TIMEOUT="${RABBITMQ_START_TIMEOUT:-120}"

running() {
  command -v rabbitmqctl >/dev/null 2>&1 && timeout 20 rabbitmqctl -q status >/dev/null 2>&1
}

start() {
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    echo "installing Debian's rabbitmq-server"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq rabbitmq-server >/dev/null
    # The package may start a server of its own; it listens on every interface: replace it.
    if running; then rabbitmqctl -q stop >/dev/null 2>&1 || true; fi
  fi
  if running; then
    echo "RabbitMQ already running: using it"
    return 0
  fi
  echo "starting rabbitmq-server on 127.0.0.1:${RABBITMQ_NODE_PORT:-5672}"
  RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 rabbitmq-server -detached
  touch "$STAMP"
  # The detached node takes a few seconds to register with epmd; until then await_startup
  # fails at once ("not running at all"), so ask again until the deadline.
  deadline=$((SECONDS + TIMEOUT))
  until timeout 30 rabbitmqctl -q await_startup --timeout 20 >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "RabbitMQ did not start within ${TIMEOUT}s" >&2
      exit 1
    fi
    sleep 1
  done
  echo "RabbitMQ $(rabbitmqctl -q version 2>/dev/null || echo '?') is up"
}

stop() {
  if [ ! -e "$STAMP" ]; then
    echo "RabbitMQ was not started by this script: leaving it running"
    return 0
  fi
  rm -f "$STAMP"
  timeout 60 rabbitmqctl -q stop >/dev/null 2>&1 || true
  # rabbitmq-server leaves the Erlang port mapper behind; `epmd -kill` ends it, and refuses
  # while another Erlang node still uses it.
  if command -v epmd >/dev/null 2>&1; then epmd -kill >/dev/null 2>&1 || true; fi
  echo "RabbitMQ stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
