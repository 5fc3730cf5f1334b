#!/usr/bin/env bash
# Rewrites the goldens of tests/ct-golden from consul-template's typed values, as
# tools/ct-typed-oracle renders them (Go's text/template over consul-template v0.42.1's types):
# NAME.out when NAME.tmpl renders; else NAME.err (the error line) and NAME.code (14: parse or
# execute error, 75: never renders). NAME.fixture.json, when present, replaces fixture.json.
# Usage: tests/ct-golden/regen.sh [NAME...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$here/../../tools/ct-typed-oracle/run
cd "$here"
if [[ $# -gt 0 ]]; then names=("$@"); else names=(); for t in *.tmpl; do names+=("${t%.tmpl}"); done; fi
for name in "${names[@]}"; do
  fixture=fixture.json
  [[ -f $name.fixture.json ]] && fixture=$name.fixture.json
  rm -f "$name.out" "$name.err" "$name.code"
  set +e
  "$oracle" -fixture "$fixture" -name "$name.tmpl" "$name.tmpl" >"$name.out.tmp" 2>"$name.err.tmp"
  rc=$?
  set -e
  case $rc in
    0) mv "$name.out.tmp" "$name.out"; rm -f "$name.err.tmp" ;;
    14|75) mv "$name.err.tmp" "$name.err"; echo "$rc" >"$name.code"; rm -f "$name.out.tmp" ;;
    *) echo "$name: oracle exit $rc: $(cat "$name.err.tmp")" >&2; rm -f "$name.out.tmp" "$name.err.tmp"; exit 1 ;;
  esac
done
