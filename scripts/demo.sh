#!/usr/bin/env bash
# Sets everything up, then runs a busybox container end to end with tsoci.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bundle=$(mktemp -d /tmp/tsoci-demo-bundle.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
mkdir -p "$bundle/rootfs/bin"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for a in sh echo cat hostname id ls ps uname; do ln -s busybox "$bundle/rootfs/bin/$a"; done
./bin/tsoci spec --bundle "$bundle"
# no terminal, so it also runs without one; print who and where we are
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"sh", "-c", "echo hello from tsoci; id; hostname; ps; uname -a"/' "$bundle/config.json"
./bin/tsoci run --bundle "$bundle" "demo-$$"
