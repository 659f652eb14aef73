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
    corpus="$dir/testdata/fuzz/$target"
    before=$(ls "$corpus" 2>/dev/null | wc -l)
    if ! $go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "${parallel[@]}" "$pkg" >"$log" 2>&1; then
      # Go 1.26's fuzz coordinator can fail a duration-bounded run at its deadline with a bare
      # "context deadline exceeded" and no failing input (golang/go#75804, fixed in Go 1.27).
      # Only then, run the target again with a count budget (no deadline to race); any other
      # failure, or a new input in the corpus, is a real finding.
      after=$(ls "$corpus" 2>/dev/null | wc -l)
      if [ "$after" = "$before" ] && grep -q '^    context deadline exceeded$' "$log" && ! grep -q 'Failing input written' "$log"; then
        echo "fuzz $pkg $target: the coordinator's deadline race (golang/go#75804), no failing input; again for 20000 executions"
        if $go test -run '^$' -fuzz "^${target}\$" -fuzztime 20000x "${parallel[@]}" "$pkg" >"$log" 2>&1; then
          grep 'fuzz: elapsed' "$log" | tail -n 1 || true
          continue
        fi
      fi
      cat "$log"
      exit 1
    fi
    grep 'fuzz: elapsed' "$log" | tail -n 1 || true # the run's figures: execs, new interesting inputs
  done
done
