#!/usr/bin/env bash
# Builds CRIU once into a cache outside the checkout when no working criu >= 3.19 is installed
# (Debian 12's 3.17.1 cannot dump on current kernels: "vdso: Failed to fill self vdso symtable").
# Source: Debian trixie's criu source package, upstream tarball only, its sha256 checked against
# trixie's (signed) Sources index and the value pinned here. Build deps come from bookworm.
# Prints the path of the criu to use on its last line. Env: TSOCI_CRIU_CACHE (default
# /var/cache/tsoci-criu), TSOCI_CRIU_FORCE_BUILD=1 to build even when a criu is installed.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
VERSION=4.1.1
SHA256=f80a66cb3726bb2116266d4759ce3bcbfab7abdb6b6d430bf20dd41911717afe
TARBALL="criu_${VERSION}.orig.tar.xz"
CACHE="${TSOCI_CRIU_CACHE:-/var/cache/tsoci-criu}"
OUT="$CACHE/$VERSION/criu"
BUILD_DEPS=(build-essential libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev protobuf-compiler
            python3-protobuf libnl-3-dev libnet1-dev libcap-dev libbsd-dev libgnutls28-dev
            libnftables-dev libaio-dev pkg-config uuid-dev xz-utils)

log() { echo "build-criu: $*" >&2; }

# A criu works here when it is >= 3.19 and `criu check` passes.
works() {
  local bin="$1" ver
  [ -x "$bin" ] || return 1
  ver="$("$bin" --version 2>/dev/null | sed -n 's/^Version: *//p')" || return 1
  [ -n "$ver" ] || return 1
  [ "$(printf '%s\n%s\n' 3.19 "$ver" | sort -V | head -n1)" = 3.19 ] || return 1
  "$bin" check >/dev/null 2>&1
}

install_deps() {
  local missing=() p
  for p in "${BUILD_DEPS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing build deps: ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

if [ "${TSOCI_CRIU_FORCE_BUILD:-0}" != 1 ] && command -v criu >/dev/null && works "$(command -v criu)"; then
  log "using installed $(command -v criu)"; command -v criu; exit 0
fi
# The cached binary links the runtime libraries of the build deps: make sure they are there.
if [ -x "$OUT" ]; then
  install_deps
  if works "$OUT"; then log "using cached $OUT"; echo "$OUT"; exit 0; fi
  log "cached $OUT does not pass 'criu check': rebuilding"
fi

install_deps
WORK="$(mktemp -d /tmp/tsoci-criu-build.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
# A private apt configuration that only knows trixie's sources: the host's stays untouched.
mkdir -p "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial" "$WORK/src"
# The host's own Debian mirror (the URI its bookworm sources use), asked for trixie instead.
MIRROR="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
  /^$/ {uri=""; suites=""} /^URIs:/ {uri=$2} /^Suites:/ {suites=$0}
  uri != "" && suites ~ /[ \t]bookworm([ \t]|$)/ {print uri; exit}')"
[ -n "$MIRROR" ] || MIRROR="$(awk '$1 == "deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)"
[ -n "$MIRROR" ] || { log "no Debian mirror found in the host's apt sources"; exit 1; }
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" >"$WORK/apt/sources.list"
APT_OPTS=(-o "Dir::Etc::SourceList=$WORK/apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
          -o "Dir::State::Lists=$WORK/apt/lists" -o "Dir::Cache=$WORK/apt/cache"
          -o "Dir::State::Status=/var/lib/dpkg/status" -o "Acquire::GzipIndexes=false"
          -o "APT::Sandbox::User=root")
log "fetching trixie's Sources index"
apt-get "${APT_OPTS[@]}" update -qq
# The orig tarball's sha256 as trixie's Sources index (signature checked by apt) lists it.
INDEX_SHA="$(apt-cache "${APT_OPTS[@]}" showsrc criu | awk -v t="$TARBALL" '
  /^Checksums-Sha256:/ {in_sha=1; next} /^[^ ]/ {in_sha=0} in_sha && $3 == t {print $1; exit}')"
if [ "$INDEX_SHA" != "$SHA256" ]; then
  log "trixie's Sources index lists sha256 '${INDEX_SHA:-none}' for $TARBALL, expected $SHA256"; exit 1
fi
(cd "$WORK/src" && apt-get "${APT_OPTS[@]}" source -qq --download-only "criu" >/dev/null 2>&1) || true
if [ ! -f "$WORK/src/$TARBALL" ]; then log "apt-get source did not fetch $TARBALL"; exit 1; fi
echo "$SHA256  $WORK/src/$TARBALL" | sha256sum -c --quiet - || { log "$TARBALL: sha256 mismatch"; exit 1; }

log "building criu $VERSION (about a minute per core)"
tar -C "$WORK/src" -xJf "$WORK/src/$TARBALL"
SRC="$(find "$WORK/src" -maxdepth 1 -mindepth 1 -type d -name 'criu*' | head -n1)"
make -C "$SRC" -j"$(nproc)" criu >"$WORK/make.log" 2>&1 || { tail -n 30 "$WORK/make.log" >&2; log "make criu failed"; exit 1; }
mkdir -p "$CACHE/$VERSION"
install -m 0755 "$SRC/criu/criu" "$OUT.tmp" && mv -f "$OUT.tmp" "$OUT"
if ! works "$OUT"; then "$OUT" check >&2 || true; log "$OUT built but 'criu check' fails"; exit 1; fi
log "built $OUT"
echo "$OUT"
