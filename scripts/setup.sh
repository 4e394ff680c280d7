#!/usr/bin/env bash
# Installs what tsoci builds and tests with (Debian 12, as root), then builds it.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
PKGS=(build-essential cmake libseccomp-dev nlohmann-json3-dev busybox-static uidmap iproute2 procps util-linux
      passwd  # useradd/usermod: the throwaway user of the rootless tests (uidmap: newuidmap; util-linux: setpriv)
      python3  # test helpers: the pty and seccomp-agent scripts, the warm tests' stand-in pool and subreaper caller
      golang-github-opencontainers-specs-dev runc crun
      podman conmon containernetworking-plugins containerd  # real clients: test/e2e/podman.test.ts, containerd.test.ts, cri.test.ts
      docker.io buildah  # test/e2e/docker.test.ts, buildah.test.ts (and the CRI test's offline images)
      dbus)  # dbus-daemon for the fake systemd of test/e2e/systemd-cgroup.test.ts
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  # no service a package ships may start now (a system dockerd would make docker0 and
  # iptables rules): the tests start private daemons of their own
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# CRIU >= 3.19 for checkpoint/restore (Debian 12's 3.17.1 cannot dump on current kernels):
# built once into /var/cache/tsoci-criu (TSOCI_CRIU_CACHE) unless a working one is installed
bash scripts/build-criu.sh >/dev/null
npm ci --no-audit --no-fund
npm run build
