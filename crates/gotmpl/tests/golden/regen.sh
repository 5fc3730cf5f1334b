#!/usr/bin/env bash
# Regenerates every NAME.out (and NAME.err) in this directory from NAME.tmpl, NAME.json and
# NAME.args, using Go's own text/template through the oracle. Run from anywhere.
#   GO_TEMPLATE_ORACLE=/path/to/run  overrides the oracle;  arguments: only these case names.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
oracle=${GO_TEMPLATE_ORACLE:-/work/shared/tools/go-template-oracle/run}

if (($#)); then
  names=("$@")
else
  shopt -s nullglob
  names=()
  for t in *.tmpl; do names+=("${t%.tmpl}"); done
fi

total=0 failed=0
for name in "${names[@]}"; do
  name=${name%.tmpl}
  [[ -f $name.tmpl ]] || { echo "regen.sh: no such case: $name" >&2; exit 1; }
  flags=()
  if [[ -f $name.args ]]; then
    while IFS= read -r line || [[ -n $line ]]; do
      [[ -z $line ]] && continue
      key=${line%%=*} val=${line#*=}
      case $key in
        missingkey | left | right) flags+=("-$key" "$val") ;;
        *) echo "regen.sh: $name.args: bad line: $line" >&2; exit 1 ;;
      esac
    done <"$name.args"
  fi
  data=()
  [[ -f $name.json ]] && data=("$name.json")
  rc=0
  # The template name in Go's messages is the path given: always the bare file name.
  "$oracle" ${flags[@]+"${flags[@]}"} "$name.tmpl" ${data[@]+"${data[@]}"} >"$name.out" 2>"$name.err.new" || rc=$?
  case $rc in
    0) rm -f "$name.err" "$name.err.new" ;;
    1 | 2) mv "$name.err.new" "$name.err"; failed=$((failed + 1)) ;;
    *) cat "$name.err.new" >&2; rm -f "$name.err.new"
       echo "regen.sh: oracle failed on $name (exit $rc)" >&2; exit 1 ;;
  esac
  total=$((total + 1))
done
echo "regen.sh: $total cases, $failed with an error (.err)"
