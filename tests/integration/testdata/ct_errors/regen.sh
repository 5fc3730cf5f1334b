#!/bin/sh
# Regenerates the expected texts from consul-template v0.42.1's behaviour (the ct-typed-oracle,
# real Go): NAME.out (what -dry prints after its header) or NAME.err (the error line, exit 14).
# Never edit .out/.err by hand. Usage: ./regen.sh [NAME...]
set -eu
cd "$(dirname "$0")"
oracle=${CT_TYPED_ORACLE:-/work/shared/tools/ct-typed-oracle/run}
names=${*:-$(ls *.tmpl | sed 's/\.tmpl$//')}
for name in $names; do
    rm -f "$name.out" "$name.err"
    status=0
    "$oracle" -missing empty -name "$name.tmpl" - <"$name.tmpl" >"$name.out" 2>"$name.err" || status=$?
    case $status in
    0) rm "$name.err" ;;
    14) rm "$name.out" ;;
    *) echo "$name: oracle exit $status" >&2; cat "$name.err" >&2; exit 1 ;;
    esac
done
