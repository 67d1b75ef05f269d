#!/usr/bin/env bash
# Runs every test of every module under the race detector, then the
# nettest conformance suite five times. Interop tests (Node.js ws,
# Chromium, nginx) run when those programs are installed, and must run
# when CI=true; .ci/run installs them.
set -euo pipefail
cd "$(dirname "$0")"

echo "== go vet"
go vet ./...
(cd examples && go vet ./...)

echo "== go test -race (library)"
go test -race -count=1 ./...

echo "== go test -race (examples)"
(cd examples && go test -race -count=1 ./...)

echo "== nettest.TestConn, -race -count=5"
go test -race -count=5 -run '^TestNetTest$' .
