#!/usr/bin/env bash
# Runs the comparison benchmarks of this module (raw TCP, coder/websocket
# NetConn, gorilla/websocket, golang.org/x/net/websocket, wsstream) five
# times, keeps the raw output, and prints a Markdown table of the medians
# with each option's ratio to raw TCP (benchchart -table; ±N% is the
# spread of the five runs around the median).
#
# Environment (all optional):
#   COUNT=5                   runs of each benchmark; medians are taken over them
#   BENCHTIME=0.5s            -benchtime of each run
#   BENCH=.                   -bench pattern, e.g. 'Echo|Idle'
#   WSSTREAM_IDLE_PAIRS=1000  pairs BenchmarkIdle holds open
#   OUT=results/<UTC time>    prefix of the files written: OUT.txt (go test
#                             output), OUT.md (the table), OUT.svg (a chart)
set -euo pipefail
cd "$(dirname "$0")"

count=${COUNT:-5}
benchtime=${BENCHTIME:-0.5s}
pattern=${BENCH:-.}
out=${OUT:-results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$(dirname "$out")"

{
	echo "# go test -run '^\$' -bench '$pattern' -benchmem -count $count -benchtime $benchtime"
	echo "# WSSTREAM_IDLE_PAIRS=${WSSTREAM_IDLE_PAIRS:-1000} $(go version) $(nproc) cores"
	go test -run '^$' -bench "$pattern" -benchmem -count "$count" -benchtime "$benchtime" -timeout 30m .
} | tee "$out.txt"

go run ./benchchart -base raw-tcp -o "$out.svg" -table "$out.md" \
	-title 'Go byte streams over loopback against raw TCP (medians)' \
	-units 'MB/s,KiB/pair,ns/op' -absolute 'KiB/pair' \
	-table-units 'MB/s,ns/op,p50-ns,p90-ns,p99-ns,KiB/pair,inuse-KiB/pair,goroutines/pair,allocs/op' \
	"$out.txt"
echo
echo "Medians of $count runs; (**r×**) is the ratio to raw-tcp. Raw output: $out.txt"
echo
cat "$out.md"
