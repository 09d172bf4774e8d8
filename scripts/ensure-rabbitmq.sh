#!/usr/bin/env bash
# Makes sure a RabbitMQ broker answers on 127.0.0.1:5672: reuses one that runs, else installs Debian's
# rabbitmq-server when missing, starts it, and waits for the port with a deadline.
set -euo pipefail
DEADLINE_S="${RABBITMQ_WAIT_SECONDS:-180}"

port_open() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

# The serial tests drive Debian's broker tools: rabbitmqctl (broker stop/start) and rabbitmq-server
# with its `rabbitmq` user (test/helpers/rabbitmq-cluster.ts forms a 3-node cluster beside the broker).
warn_without_tools() {
  for tool in rabbitmqctl rabbitmq-server; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
      echo "WARNING: $tool is not installed here: the serial tests need Debian's rabbitmq-server package." >&2
    fi
  done
  if ! getent passwd rabbitmq >/dev/null 2>&1; then
    echo "WARNING: there is no rabbitmq user: the RabbitMQ cluster test needs Debian's rabbitmq-server package." >&2
  fi
}

if port_open; then
  echo "== RabbitMQ already answers on 127.0.0.1:5672"
  warn_without_tools
  exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

if ! command -v rabbitmq-server >/dev/null 2>&1 && [ ! -x /usr/sbin/rabbitmq-server ]; then
  echo "== installing rabbitmq-server from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq rabbitmq-server >/dev/null
fi

echo "== starting rabbitmq-server"
if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
  $SUDO systemctl start rabbitmq-server || true
fi
if ! port_open; then
  # No init system in containers: start the broker detached ourselves.
  $SUDO /usr/sbin/rabbitmq-server -detached >/dev/null 2>&1 || $SUDO rabbitmq-server -detached || true
fi

start=$(date +%s)
until port_open; do
  if [ $(( $(date +%s) - start )) -ge "$DEADLINE_S" ]; then
    echo "ERROR: RabbitMQ did not answer on 127.0.0.1:5672 within ${DEADLINE_S}s." >&2
    echo "       Look at /var/log/rabbitmq/ for the reason (port in use, hostname resolution, disk)." >&2
    exit 1
  fi
  sleep 1
done
# The port opens before the broker accepts work; wait until rabbitmqctl agrees it is up.
until $SUDO rabbitmqctl await_startup >/dev/null 2>&1; do
  if [ $(( $(date +%s) - start )) -ge "$DEADLINE_S" ]; then
    echo "ERROR: RabbitMQ port is open but the broker did not finish starting within ${DEADLINE_S}s." >&2
    exit 1
  fi
  sleep 1
done
echo "== RabbitMQ is up after $(( $(date +%s) - start ))s"
