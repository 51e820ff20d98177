#!/usr/bin/env bash
# tools/stage.sh NAME COMMAND...: run one stage of `make test`, then print how
# long it took and append that line to _build/stage-times.txt (which
# `make test` prints as a summary at the end).
set -uo pipefail
name=$1
shift
start=$(date +%s.%N)
"$@"
rc=$?
end=$(date +%s.%N)
line=$(printf '%-16s %7.1f s  %s' "$name" "$(awk "BEGIN { print $end - $start }")" \
       "$([ $rc = 0 ] && echo ok || echo "FAILED (exit $rc)")")
echo "[stage] $line"
mkdir -p _build
echo "$line" >> _build/stage-times.txt
exit $rc
