#!/usr/bin/env bash
# Installs what tsoci builds and tests with (Debian 12, as root), then builds it.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
PKGS=(build-essential cmake libseccomp-dev nlohmann-json3-dev busybox-static uidmap iproute2 procps util-linux
      golang-github-opencontainers-specs-dev runc crun
      podman conmon containernetworking-plugins containerd  # real clients: test/e2e/podman.test.ts, containerd.test.ts
      dbus)  # dbus-daemon for the fake systemd of test/e2e/systemd-cgroup.test.ts
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# CRIU >= 3.19 for checkpoint/restore (Debian 12's 3.17.1 cannot dump on current kernels):
# built once into /var/cache/tsoci-criu (TSOCI_CRIU_CACHE) unless a working one is installed
bash scripts/build-criu.sh >/dev/null
npm ci --no-audit --no-fund
npm run build
