#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (/usr/bin/chromium); never a
# downloaded browser. Install it when it is missing and we may (root with
# apt-get, as on CI); otherwise stop with one line saying what to run.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "Installing Debian's chromium (the browser tests need $CHROMIUM) ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium > /dev/null
  test -x "$CHROMIUM"
  exit 0
fi
echo "error: $CHROMIUM is missing; install Debian's Chromium with 'sudo apt-get install -y chromium', then run make test again" >&2
exit 1
