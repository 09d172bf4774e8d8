#!/usr/bin/env bash
# Makes sure a headless-capable Chromium is installed for the operator console's browser tests and
# render bench (test/console/, bench/console.ts): Debian's `chromium` package, driven by
# playwright-core, which never downloads a browser of its own. Reuses one that is there.
set -euo pipefail

for candidate in "${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "== Chromium already installed: $candidate ($("$candidate" --version 2>/dev/null || echo 'version unknown'))"
    exit 0
  fi
done

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

echo "== installing chromium from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null

if [ ! -x /usr/bin/chromium ]; then
  echo "ERROR: apt-get installed chromium but /usr/bin/chromium is missing." >&2
  exit 1
fi
echo "== $(/usr/bin/chromium --version 2>/dev/null || echo chromium) installed"
