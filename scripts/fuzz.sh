#!/usr/bin/env bash
# Runs every Fuzz* target in the module for FUZZTIME each: scripts/fuzz.sh [FUZZTIME]
# (one package and target at a time, as go test requires). Each target starts from its committed
# seed corpus, testdata/fuzz/<FuzzName>/ in its package (docs/soak.md). A failing input is written
# there by go test and the run stops with its log: commit that file with the fix and a regression
# test. FUZZ_PARALLEL=N limits the fuzzing workers (default GOMAXPROCS); FUZZ_TARGETS=REGEX runs
# only the targets whose name matches.
set -euo pipefail
fuzztime=${1:-3s}
go=${GO:-go}
parallel=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then parallel=(-parallel "$FUZZ_PARALLEL"); fi
log=$(mktemp "${TMPDIR:-/tmp}/fuzz.XXXXXX")
trap 'rm -f "$log"' EXIT
for pkg in $($go list ./...); do
  dir=$($go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    if [ -n "${FUZZ_TARGETS:-}" ] && ! [[ $target =~ $FUZZ_TARGETS ]]; then continue; fi
    echo "fuzz $pkg $target ($fuzztime)"
    if ! $go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "${parallel[@]}" "$pkg" >"$log" 2>&1; then
      cat "$log"
      exit 1
    fi
    grep 'fuzz: elapsed' "$log" | tail -n 1 || true # the run's figures: execs, new interesting inputs
  done
done
