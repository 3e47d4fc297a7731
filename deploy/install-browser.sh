#!/usr/bin/env bash
# Installs Debian's Chromium for the Playwright browser tests (Playwright's own browser download does not
# work on the closed build machines). Idempotent: does nothing when /usr/bin/chromium exists.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-browser: need root or sudo to apt-get install chromium" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install-browser: installing Debian's chromium (for the browser tests)" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
test -x /usr/bin/chromium
