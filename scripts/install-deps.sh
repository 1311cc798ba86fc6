#!/usr/bin/env bash
# install-deps.sh -- install everything ffwd needs on Debian 12 (bookworm).
#
# Debian packages only, by name. QEMU 10 comes from bookworm-backports; the
# backports suite is added using the same archive URI the machine already
# uses for bookworm, so no host name is hard-coded here. The arm64 foreign
# architecture is enabled so the demo guest can be assembled from Debian's
# arm64 packages (kernel, busybox, xz) with `apt-get download`.
#
# Idempotent: when every package is present and QEMU is >= 10 it only checks
# and exits (well under a second).
set -euo pipefail

# --gem5-runtime: also the Debian packages a stock gem5 build needs at run
# time (the list of ../shared/gem5/README.md), for scripts/gem5-unpack.sh.
GEM5_PKGS=()
if [ "${1:-}" = --gem5-runtime ]; then
  GEM5_PKGS=(libpython3.11 libprotobuf32 libtcmalloc-minimal4 libpng16-16 libexpat1 zlib1g xz-utils)
fi

need_root() { if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi; }
need_root

HOST_PKGS=(
  build-essential cmake pkg-config
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  libfdt-dev zlib1g-dev libdeflate-dev libjansson-dev libglib2.0-dev
  e2fsprogs dpkg-dev libelf-dev strace
  chromium
  valgrind
  clang libclang-rt-14-dev
  slurmctld slurmd slurm-client munge
  help2man
)
BPO_PKGS=(qemu-system-arm qemu-utils)

missing=()
for p in "${HOST_PKGS[@]}" "${BPO_PKGS[@]}" "${GEM5_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

qemu_major() {
  command -v qemu-system-aarch64 >/dev/null || { echo 0; return; }
  qemu-system-aarch64 --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -1
}

have_arm64=0
dpkg --print-foreign-architectures | grep -qx arm64 && have_arm64=1

if [ ${#missing[@]} -eq 0 ] && [ "$(qemu_major)" -ge 10 ] && [ $have_arm64 = 1 ] \
   && grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "install-deps: everything present (QEMU $(qemu-system-aarch64 --version | head -1 | awk '{print $4}'))"
  exit 0
fi

# --- bookworm-backports, from the URI of the configured bookworm archive ---
if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822: find the stanza whose Suites contain "bookworm" and take its URIs.
    uri=$(awk 'BEGIN{RS="";FS="\n"}
      { u=""; s=""; for(i=1;i<=NF;i++){ if($i ~ /^URIs:/){u=$i; sub(/^URIs:[ \t]*/,"",u)}
                                        if($i ~ /^Suites:/){s=$i} }
        if (s ~ /[ \t]bookworm([ \t]|$)/ && u != "") { split(u,a," "); print a[1]; exit } }' "$f")
    [ -n "$uri" ] && break
  done
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list)
  fi
  if [ -z "$uri" ]; then
    echo "install-deps: error: no configured bookworm archive found in /etc/apt/sources.list{,.d}; add bookworm-backports by hand" >&2
    exit 1
  fi
  echo "install-deps: adding bookworm-backports from $uri"
  $SUDO tee /etc/apt/sources.list.d/ffwd-bookworm-backports.sources >/dev/null <<SRC
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

if [ $have_arm64 = 0 ]; then
  echo "install-deps: enabling the arm64 foreign architecture (for the demo guest's packages)"
  $SUDO dpkg --add-architecture arm64
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${HOST_PKGS[@]}" "${GEM5_PKGS[@]}"
$SUDO apt-get install -y -q --no-install-recommends -t bookworm-backports "${BPO_PKGS[@]}"

m=$(qemu_major)
if [ "$m" -lt 10 ]; then
  echo "install-deps: error: qemu-system-aarch64 is version $m after install; ffwd needs >= 10" >&2
  exit 1
fi
echo "install-deps: done ($(qemu-system-aarch64 --version | head -1))"
