package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkBulk/dial-to-accept/raw-tcp-2   100  10000 ns/op  3000.00 MB/s  0 B/op  0 allocs/op
BenchmarkBulk/dial-to-accept/raw-tcp-2   100  12000 ns/op  2000.00 MB/s  0 B/op  0 allocs/op
BenchmarkBulk/dial-to-accept/raw-tcp-2   100  11000 ns/op  2500.00 MB/s  0 B/op  0 allocs/op
BenchmarkBulk/dial-to-accept/wsstream-2  100  40000 ns/op  1000.00 MB/s  0 B/op  0 allocs/op
BenchmarkIdle/raw-tcp-2                  10   20000 ns/op  2.000 KiB/pair  1.000 goroutines/pair
BenchmarkIdle/wsstream-2                 10   50000 ns/op  30.00 KiB/pair  3.000 goroutines/pair
BenchmarkOther/subs=1-2                  10   5 ns/op
PASS
`

func TestParseAndSummarize(t *testing.T) {
	rs, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.keepBaselined("raw-tcp"); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(rs.benchmarks, ","), "Bulk/dial-to-accept,Idle"; got != want {
		t.Errorf("benchmarks = %s, want %s", got, want)
	}
	if got, want := strings.Join(rs.transports, ","), "raw-tcp,wsstream"; got != want {
		t.Errorf("transports = %s, want %s", got, want)
	}
	s := rs.stat("Bulk/dial-to-accept", "raw-tcp", "MB/s")
	if s.median != 2500 || s.spread != 0.2 {
		t.Errorf("raw-tcp MB/s: median %v spread %v, want 2500 and 0.2", s.median, s.spread)
	}
	if r, _ := ratio(rs.stat("Bulk/dial-to-accept", "wsstream", "MB/s"), s); r != 0.4 {
		t.Errorf("ratio = %v, want 0.4", r)
	}

	var table strings.Builder
	if err := rs.writeTable(&table, "raw-tcp", []string{"MB/s", "KiB/pair"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| Bulk/dial-to-accept | MB/s | 2500 ±20% | 1000 ±0% (**0.40×**) |", "| Idle | KiB/pair | 2 ±0% | 30 ±0% (**15.00×**) |"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}

	var svg strings.Builder
	c := chart{base: "raw-tcp", units: []string{"MB/s", "KiB/pair"}, absolute: []string{"KiB/pair"}, maxRatio: 3, targets: map[string]float64{"Idle": 30}}
	if err := rs.writeSVG(&svg, c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg ", "0.40× (1000 MB/s)", "30 KiB/pair (15.00×)", `stroke="#d00"`, "</svg>"} {
		if !strings.Contains(svg.String(), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}
