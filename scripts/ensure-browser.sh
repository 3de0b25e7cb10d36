#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the web UI tests (Playwright drives it through
# executable_path; no browser is ever downloaded by Playwright). Installs only when missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "!! /usr/bin/chromium is missing and apt-get is not available: install Chromium" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "==> installing chromium (Debian package) for the web UI tests"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
