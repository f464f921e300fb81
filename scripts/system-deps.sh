#!/usr/bin/env bash
# Debian packages the test suite needs. Installed here when running as root (as on CI);
# otherwise this names the one command to run, and fails.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
# Screenshots of the Chinese pages need a CJK font, or every character is a box.
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)

[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ]; then
    echo "installing Debian packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
    echo "The tests need these Debian packages: ${need[*]}" >&2
    echo "Install them with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
fi
