#!/bin/bash
# gen-man.sh FFWD OUTDIR -- the man pages of ffwd, generated from its --help.
#
# The help text in the code is the one source: help2man (Debian package
# help2man) turns each command's `--help` into a page, so the man page and the
# long help cannot drift apart. One page per command, git-style:
# ffwd(1), ffwd-profile(1), ..., ffwd-trace-record(1), ffwd-flow-record(1). A wrapper named after
# the page runs `ffwd COMMAND` so help2man titles it by that name.
set -euo pipefail
ffwd=$(readlink -f "$1")
out=$2
version=$("$ffwd" --version | awk '{print $2}')
mkdir -p "$out/wrap"
page() { # NAME SUMMARY COMMAND...
    local name=$1 summary=$2
    shift 2
    local w="$out/wrap/$name"
    printf '#!/bin/sh\nexec %q %s "$@"\n' "$ffwd" "$*" > "$w"
    chmod +x "$w"
    help2man --no-info --no-discard-stderr --section=1 --source="ffwd $version" \
        --version-string="$version" --name="$summary" --output="$out/$name.1.tmp" "$w"
    mv "$out/$name.1.tmp" "$out/$name.1"
}
page ffwd "fast-forward a workload in QEMU to its region of interest, checkpoint it for gem5"
"$ffwd" --help | awk '/^Commands:/ {f = 1; next} f && /^  [a-z]/ {n = $1; $1 = ""; sub(/^ +/, ""); print n "\t" $0} f && /^$/ {exit}' |
while IFS=$'\t' read -r cmd summary; do
    subs=
    case $cmd in trace) subs="record stats dump" ;; flow) subs="record report" ;; esac
    if [ -n "$subs" ]; then
        page "ffwd-$cmd" "$summary" "$cmd"
        for sub in $subs; do
            page "ffwd-$cmd-$sub" "$summary ($sub)" "$cmd" "$sub"
        done
    else
        page "ffwd-$cmd" "$summary" "$cmd"
    fi
done
rm -rf "$out/wrap"
