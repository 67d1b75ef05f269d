#!/usr/bin/env bash
# Runs every test of every module under the race detector, then the
# nettest conformance suite five times. Tests that need an outside
# program (Node.js ws, Chromium, nginx, tinyproxy, microsocks, sshd) run
# when it is installed and are mandatory when CI=true; .ci/run installs
# them. Every skipped test is listed with its reason at the end.
set -euo pipefail
cd "$(dirname "$0")"

modules=(. examples bench cmd/wsstream)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== go vet"
for m in "${modules[@]}"; do (cd "$m" && go vet ./...); done
echo "== go vet, GOOS=js GOARCH=wasm (the client side, for browsers)"
GOOS=js GOARCH=wasm go vet ./...
(cd examples && GOOS=js GOARCH=wasm go vet ./browser/...)

for m in "${modules[@]}"; do
  echo "== go test -race ($m)"
  # -v so that skips and their reasons can be listed; the log is kept
  # whole and shown on failure.
  if ! (cd "$m" && go test -race -count=1 -v ./... >"$log" 2>&1); then
    # Each failing test, with the 40 lines of output before its verdict
    # (with -v a test's log lines come just before it), then the end.
    grep -E -B40 -- '^\s*--- FAIL' "$log" | head -400 || true
    # A test that hangs ends in a timeout panic, not a --- FAIL: show the
    # tests that were running and the start of the goroutine dump.
    grep -E -A120 -- '^panic: test timed out' "$log" | head -400 || true
    grep -E '^(ok|FAIL|panic:) ' "$log" || true
    echo "(last lines of the log)"; tail -60 "$log"
    exit 1
  fi
  grep -E '^(ok|FAIL|\?) ' "$log" || true
  grep -E -A1 -- '--- SKIP' "$log" | grep -v '^--$' | sed 's/^/  /' || true
done

echo "== nettest.TestConn, -race -count=5"
go test -race -count=5 -run '^TestNetTest$' .
