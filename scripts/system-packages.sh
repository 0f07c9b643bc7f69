#!/usr/bin/env bash
# Install the Debian packages a task needs: `test` (headless Chromium and its driver for the page
# tests, iproute2 for the network-namespace tests) or `bench` (also FFmpeg for the baseline).
set -euo pipefail
want=(chromium chromium-driver iproute2)
if [ "${1:-test}" = bench ]; then
  want+=(ffmpeg)
fi
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]} (run as root, or install them: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
