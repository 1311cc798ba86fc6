#!/usr/bin/env bash
# gem5-unpack.sh SRC_DIR DEST_DIR -- make a packed stock gem5 build usable.
#
# SRC_DIR holds gem5.fast.xz and gem5.fast.sha256 (a stock gem5 ARM build,
# as in the README's "gem5" section). The binary is unpacked into DEST_DIR
# (inside the build tree), its sha256 is checked, the Debian packages it needs
# at run time are installed by name (scripts/install-deps.sh --gem5-runtime),
# and its path is printed on stdout. Nothing else is touched. A binary that
# fails the checksum is removed and the script exits 1.
set -euo pipefail
src=${1:?usage: gem5-unpack.sh SRC_DIR DEST_DIR}
dst=${2:?usage: gem5-unpack.sh SRC_DIR DEST_DIR}
here=$(cd "$(dirname "$0")" && pwd)
for f in gem5.fast.xz gem5.fast.sha256; do
  [ -f "$src/$f" ] || { echo "gem5-unpack: error: $src/$f is missing" >&2; exit 1; }
done
bash "$here/install-deps.sh" --gem5-runtime >&2
mkdir -p "$dst"
want=$(awk '{print $1; exit}' "$src/gem5.fast.sha256")
if [ -x "$dst/gem5.fast" ] && [ "$(sha256sum "$dst/gem5.fast" | awk '{print $1}')" = "$want" ]; then
  echo "$(cd "$dst" && pwd)/gem5.fast"
  exit 0
fi
tmp=$(mktemp "$dst/.gem5.fast.XXXXXX")
trap 'rm -f "$tmp"' EXIT
xz -dc "$src/gem5.fast.xz" > "$tmp"
got=$(sha256sum "$tmp" | awk '{print $1}')
if [ "$got" != "$want" ]; then
  echo "gem5-unpack: error: $src/gem5.fast.xz unpacks to sha256 $got, $src/gem5.fast.sha256 says $want" >&2
  exit 1
fi
chmod 0755 "$tmp"
mv -f "$tmp" "$dst/gem5.fast"
trap - EXIT
echo "$(cd "$dst" && pwd)/gem5.fast"
