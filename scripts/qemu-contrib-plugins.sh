#!/bin/bash
# qemu-contrib-plugins.sh DIR -- build QEMU's own TCG plugins (contrib/plugins
# bbv.c and cache.c, tests/tcg/plugins/insn.c) from Debian's source package of
# the installed QEMU, into DIR, for the benchmarks' comparisons
# (QEMU_CONTRIB_PLUGINS=DIR make bench).
#
# Touches nothing outside DIR: apt reads a source list of its own there (the
# system's has no deb-src line), and the download, the package lists and the
# extracted sources stay in DIR.
set -euo pipefail
dir=${1:?usage: qemu-contrib-plugins.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
ver=$(dpkg-query -W -f '${Version}' qemu-system-arm 2>/dev/null) || {
    echo "qemu-contrib-plugins: qemu-system-arm is not installed (scripts/install-deps.sh installs it)" >&2
    exit 1
}
suite=bookworm
case "$ver" in *bpo12*) suite=bookworm-backports ;; esac
apt="$dir/apt"
mkdir -p "$apt/sources.list.d" "$apt/lists/partial" "$apt/cache/archives/partial"
: > "$apt/sources.list"
cat > "$apt/sources.list.d/qemu-src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/sources.list.d"
      -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache")
apt-get -q "${opts[@]}" update >/dev/null
# Only the upstream tarball is needed (the plugins are not patched by Debian);
# where the mirror lacks the .dsc, apt fetches the tarball all the same and
# its SHA256 from the package index is checked here.
line=$(apt-get -q "${opts[@]}" source --print-uris "qemu=$ver" | grep "orig.tar.xz" | head -1)
name=$(echo "$line" | awk '{print $2}')
sum=$(echo "$line" | awk '{print $4}' | sed 's/^SHA256://')
[ -n "$name" ] || { echo "qemu-contrib-plugins: no source package qemu=$ver in $suite" >&2; exit 1; }
(cd "$dir" && apt-get -q "${opts[@]}" source --download-only "qemu=$ver" >/dev/null 2>&1) || true
orig="$dir/$name"
[ -f "$orig" ] && echo "$sum  $orig" | sha256sum -c --quiet - || {
    echo "qemu-contrib-plugins: could not fetch $name with its index checksum" >&2
    exit 1
}
rm -rf "$dir/src" && mkdir -p "$dir/src"
tar -xJf "$orig" -C "$dir/src" --strip-components=1 --wildcards '*/include/qemu/qemu-plugin.h' \
    '*/contrib/plugins/*' '*/tests/tcg/plugins/*'
cflags=(-O2 -g -fPIC -shared $(pkg-config --cflags glib-2.0) -I"$dir/src/include/qemu")
for p in contrib/plugins/bbv.c contrib/plugins/cache.c tests/tcg/plugins/insn.c; do
    n=$(basename "$p" .c)
    gcc "${cflags[@]}" -o "$dir/lib$n.so" "$dir/src/$p" $(pkg-config --libs glib-2.0)
done
echo "QEMU $ver contrib plugins in $dir: $(cd "$dir" && ls lib*.so | tr '\n' ' ')"
