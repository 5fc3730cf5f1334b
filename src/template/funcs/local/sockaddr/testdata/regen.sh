#!/usr/bin/env bash
# Rewrites go.jsonl from go-sockaddr itself: tools/sockaddr-oracle runs every template of
# cases.json over its made-up host (template.ParseIfAddrs, the host's addresses as dot) and
# writes one {"out": …} or {"err": …} line per case. Needs Debian's go-sockaddr
# (apt-get install -y golang-github-hashicorp-go-sockaddr-dev) and Go (see the tool's run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# go-sockaddr's `default` sort asks the real machine for its default route's interface; the
# made-up host calls that one eth0 (the Rust test marks eth0 as the default).
default_if=$(awk 'NR > 1 && $2 == "00000000" { print $1; exit }' /proc/net/route)
[[ $default_if == eth0 ]] || { echo "regen.sh: the default route must be on eth0 (it is on '$default_if')" >&2; exit 1; }
"$here/../../../../../../tools/sockaddr-oracle/run" <"$here/cases.json" >"$here/go.jsonl.tmp"
mv "$here/go.jsonl.tmp" "$here/go.jsonl"
