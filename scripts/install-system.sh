#!/usr/bin/env bash
# System packages the tests need: a real redis-server (Redis Streams source), PostgreSQL
# (the store by URL) and Debian's chromium (the dashboard's browser test, driven by Playwright).
# The servers are started by the tests themselves on loopback, never as services.
# Idempotent: installs only what is missing. Uses sudo when not root.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)  # the dashboard's headless browser test (Playwright)
# Chinese rule citations and titles render as boxes without a CJK font (WenQuanYi Micro Hei: ~5 MB)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
if ((${#need[@]} == 0)); then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing: ${need[*]}; install them with your package manager (this script knows apt-get only)" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing system packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
