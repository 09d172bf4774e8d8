#!/usr/bin/env bash
# The PostgreSQL storage tests start a throwaway server from the PostgreSQL server binaries
# (initdb, pg_ctl). Install Debian's postgresql package when they are missing; start nothing here.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "== PostgreSQL server binaries present: $(ls -d /usr/lib/postgresql/*/bin | head -1)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
echo "== installing postgresql from Debian's packages (for the storage tests)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq postgresql >/dev/null
ls /usr/lib/postgresql/*/bin/initdb >/dev/null
