// Command benchchart turns the output of `go test -bench` into an SVG bar
// chart that compares transports benchmark by benchmark, and optionally
// into a Markdown table.
//
// The last element of a benchmark's name is taken as the transport and
// the rest as the benchmark: BenchmarkBulk/dial-to-accept/raw-tcp-2 is
// transport raw-tcp of benchmark Bulk/dial-to-accept. Repeated runs
// (-count) are summarized by their median. Benchmarks without a result
// for the baseline transport are left out.
//
// Each benchmark is charted by the first unit of -units that its baseline
// reports, as the ratio of each transport to the baseline, or as absolute
// values for the units of -absolute. Units ending in "/s" are better when
// higher, others when lower.
//
// Usage:
//
//	go test -run '^$' -bench . -benchmem -count 5 | tee bench.txt
//	benchchart -o chart.svg -table table.md bench.txt
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// chart configures the SVG chart.
type chart struct {
	title    string
	base     string   // the baseline transport
	units    []string // units to chart, by preference
	absolute []string // units charted as values rather than ratios
	maxRatio float64  // ratio bars are clipped here
	// targets are marked on the bars of their benchmark: a ratio, or a
	// value for absolute units.
	targets map[string]float64
}

func main() {
	var c chart
	out := flag.String("o", "-", "SVG output `file`; - is standard output")
	table := flag.String("table", "", "also write a Markdown table to `file`; - is standard output")
	flag.StringVar(&c.base, "base", "raw-tcp", "the baseline `transport`")
	units := flag.String("units", "MB/s,KiB/pair,ns/op", "comma-separated `units` to chart, by preference")
	absolute := flag.String("absolute", "KiB/pair", "comma-separated `units` charted as values, not as ratios to the baseline")
	tableUnits := flag.String("table-units", "MB/s,ns/op,p50-ns,KiB/pair,goroutines/pair,B/op,allocs/op", "comma-separated `units` of the table")
	flag.StringVar(&c.title, "title", "wsstream and coder/websocket's NetConn against raw TCP (medians)", "chart `title`")
	flag.Float64Var(&c.maxRatio, "max", 3, "clip ratio bars at this `ratio`")
	flag.Var((*targetFlag)(&c.targets), "target", "mark a target on a benchmark, as `benchmark=value` (a ratio, or a value for -absolute units; repeatable)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: benchchart [flags] [go-test-bench-output-file]")
		flag.PrintDefaults()
	}
	flag.Parse()
	c.units, c.absolute = split(*units), split(*absolute)
	if err := run(*out, *table, split(*tableUnits), c); err != nil {
		fmt.Fprintln(os.Stderr, "benchchart:", err)
		os.Exit(1)
	}
}

func run(out, table string, tableUnits []string, c chart) error {
	var in io.Reader = os.Stdin
	switch flag.NArg() {
	case 0:
	case 1:
		f, err := os.Open(flag.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	default:
		flag.Usage()
		os.Exit(2)
	}
	rs, err := parse(in)
	if err != nil {
		return err
	}
	if err := rs.keepBaselined(c.base); err != nil {
		return err
	}
	if table != "" {
		if err := writeFile(table, func(w io.Writer) error { return rs.writeTable(w, c.base, tableUnits) }); err != nil {
			return err
		}
	}
	return writeFile(out, func(w io.Writer) error { return rs.writeSVG(w, c) })
}

// writeFile calls write with the named file, or standard output for "-".
func writeFile(name string, write func(io.Writer) error) error {
	if name == "-" {
		return write(os.Stdout)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// split returns the non-empty comma-separated fields of s.
func split(s string) []string {
	var r []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			r = append(r, f)
		}
	}
	return r
}

// targetFlag is the -target flag: targets by benchmark.
type targetFlag map[string]float64

func (t *targetFlag) String() string { return fmt.Sprint(map[string]float64(*t)) }

// Set parses one benchmark=value.
func (t *targetFlag) Set(s string) error {
	name, v, ok := strings.Cut(s, "=")
	r, err := strconv.ParseFloat(v, 64)
	if !ok || err != nil || r <= 0 {
		return errors.New("want benchmark=value, such as Bulk/dial-to-accept=0.6")
	}
	if *t == nil {
		*t = make(targetFlag)
	}
	(*t)[name] = r
	return nil
}

// results are the benchmark results read, in the order first seen.
type results struct {
	benchmarks []string
	transports []string
	// values holds every value reported, by benchmark, transport and
	// unit.
	values map[string]map[string]map[string][]float64
}

// procSuffix is the -GOMAXPROCS suffix of a benchmark name.
var procSuffix = regexp.MustCompile(`-\d+$`)

// parse reads benchmark result lines, ignoring every other line.
func parse(r io.Reader) (*results, error) {
	rs := &results{values: make(map[string]map[string]map[string][]float64)}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || len(f)%2 != 0 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			continue
		}
		bench, transport := name[:i], name[i+1:]
		byTransport := rs.values[bench]
		if byTransport == nil {
			byTransport = make(map[string]map[string][]float64)
			rs.values[bench] = byTransport
			rs.benchmarks = append(rs.benchmarks, bench)
		}
		byUnit := byTransport[transport]
		if byUnit == nil {
			byUnit = make(map[string][]float64)
			byTransport[transport] = byUnit
		}
		if !slices.Contains(rs.transports, transport) {
			rs.transports = append(rs.transports, transport)
		}
		for j := 2; j < len(f); j += 2 {
			v, err := strconv.ParseFloat(f[j], 64)
			if err != nil {
				continue
			}
			byUnit[f[j+1]] = append(byUnit[f[j+1]], v)
		}
	}
	return rs, sc.Err()
}

// keepBaselined drops the benchmarks that have no result for base and
// the transports of no other benchmark, and puts base first among the
// transports.
func (rs *results) keepBaselined(base string) error {
	rs.benchmarks = slices.DeleteFunc(rs.benchmarks, func(b string) bool {
		_, ok := rs.values[b][base]
		return !ok
	})
	if len(rs.benchmarks) == 0 {
		return fmt.Errorf("no benchmark has a result for the baseline %q", base)
	}
	rs.transports = slices.DeleteFunc(rs.transports, func(t string) bool {
		if t == base {
			return true
		}
		for _, b := range rs.benchmarks {
			if _, ok := rs.values[b][t]; ok {
				return false
			}
		}
		return true
	})
	rs.transports = append([]string{base}, rs.transports...)
	return nil
}

// stat is the summary of one benchmark, transport and unit.
type stat struct {
	median float64
	// spread is the largest distance of a run from the median, relative
	// to the median.
	spread float64
	ok     bool
}

// stat summarizes the values reported for bench, transport and unit.
func (rs *results) stat(bench, transport, unit string) stat {
	vs := slices.Clone(rs.values[bench][transport][unit])
	if len(vs) == 0 {
		return stat{}
	}
	slices.Sort(vs)
	m := vs[len(vs)/2]
	if len(vs)%2 == 0 {
		m = (vs[len(vs)/2-1] + m) / 2
	}
	s := 0.0
	if m != 0 {
		s = max(m-vs[0], vs[len(vs)-1]-m) / math.Abs(m)
	}
	return stat{median: m, spread: s, ok: true}
}

// unitFor returns the first of units that the baseline of bench reports.
func (rs *results) unitFor(bench, base string, units []string) (string, bool) {
	for _, u := range units {
		if rs.stat(bench, base, u).ok {
			return u, true
		}
	}
	return "", false
}

func higherIsBetter(unit string) bool { return strings.HasSuffix(unit, "/s") }

// ratio returns v relative to the baseline b, or false when that has no
// meaning.
func ratio(v, b stat) (float64, bool) {
	if !v.ok || !b.ok || b.median == 0 {
		return 0, false
	}
	return v.median / b.median, true
}

// writeTable writes a Markdown table with a row per benchmark and unit:
// the median of each transport, its ratio to the baseline and the spread
// of the runs.
func (rs *results) writeTable(w io.Writer, base string, units []string) error {
	var b strings.Builder
	b.WriteString("| benchmark | unit |")
	for _, t := range rs.transports {
		fmt.Fprintf(&b, " %s |", t)
	}
	b.WriteString("\n|---|---|")
	for range rs.transports {
		b.WriteString("--:|")
	}
	b.WriteString("\n")
	for _, bench := range rs.benchmarks {
		for _, u := range units {
			bs := rs.stat(bench, base, u)
			if !bs.ok {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s |", bench, u)
			for _, t := range rs.transports {
				s := rs.stat(bench, t, u)
				switch r, ok := ratio(s, bs); {
				case !s.ok:
					b.WriteString(" – |")
				case t == base || !ok:
					fmt.Fprintf(&b, " %s ±%.0f%% |", number(s.median), 100*s.spread)
				default:
					fmt.Fprintf(&b, " %s ±%.0f%% (**%.2f×**) |", number(s.median), 100*s.spread, r)
				}
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// number formats v with three significant digits, or as an integer when
// it is larger.
func number(v float64) string {
	if math.Abs(v) >= 100 || v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// Layout of the chart, in pixels.
const (
	chartWidth = 960
	labelWidth = 300 // left column: benchmark and transport names
	valueWidth = 220 // right of the longest bar: the ratio and value
	barHeight  = 16
	barGap     = 3
	groupGap   = 14
	headHeight = 18 // benchmark name above its bars
	topMargin  = 56
	legendLine = 18
)

// palette colors the transports in order; the baseline is gray.
var palette = []string{"#8c8c8c", "#e69f00", "#0072b2", "#009e73", "#cc79a7", "#d55e00"}

// writeSVG writes a horizontal bar chart: for each benchmark, one bar per
// transport, its length the ratio of its median to the baseline's, or its
// median for absolute units.
func (rs *results) writeSVG(w io.Writer, c chart) error {
	type bar struct {
		transport string
		length    float64 // in units of the group's scale
		label     string
	}
	type group struct {
		name, unit string
		absolute   bool
		scale      float64 // the length of a full bar
		target     float64 // 0 for none
		bars       []bar
	}
	var groups []group
	for _, bench := range rs.benchmarks {
		u, ok := rs.unitFor(bench, c.base, c.units)
		if !ok {
			continue
		}
		bs := rs.stat(bench, c.base, u)
		g := group{name: bench, unit: u, absolute: slices.Contains(c.absolute, u), scale: c.maxRatio, target: c.targets[bench]}
		for _, t := range rs.transports {
			s := rs.stat(bench, t, u)
			r, ok := ratio(s, bs)
			if !ok {
				continue
			}
			br := bar{t, r, fmt.Sprintf("%.2f× (%s %s)", r, number(s.median), u)}
			if g.absolute {
				br = bar{t, s.median, fmt.Sprintf("%s %s (%.2f×)", number(s.median), u, r)}
			}
			g.bars = append(g.bars, br)
		}
		if g.absolute {
			g.scale = g.target
			for _, br := range g.bars {
				g.scale = max(g.scale, br.length)
			}
		}
		groups = append(groups, g)
	}
	if len(groups) == 0 {
		return fmt.Errorf("no benchmark reports any of the units %v", c.units)
	}

	height := topMargin + legendLine
	for _, g := range groups {
		height += headHeight + len(g.bars)*(barHeight+barGap) + groupGap
	}
	plotWidth := float64(chartWidth - labelWidth - valueWidth)

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, height, chartWidth, height)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	fmt.Fprintf(&b, `<text x="10" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", html.EscapeString(c.title))
	fmt.Fprintf(&b, `<text x="10" y="40" fill="#444">Bars: median relative to %s (the line at 1×), clipped at %g×; %s: median value. Units ending in /s: higher is better; others: lower is better.</text>`+"\n",
		html.EscapeString(c.base), c.maxRatio, html.EscapeString(strings.Join(c.absolute, ", ")))
	lx := 10
	for i, t := range rs.transports {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			lx, topMargin-4, palette[i%len(palette)], lx+16, topMargin+6, html.EscapeString(t))
		lx += 30 + 8*len(t)
	}
	if len(c.targets) > 0 {
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#d00" stroke-width="2" stroke-dasharray="4 2"/><text x="%d" y="%d">target</text>`+"\n",
			lx, topMargin+2, lx+16, topMargin+2, lx+20, topMargin+6)
	}

	y := topMargin + legendLine
	for _, g := range groups {
		x := func(v float64) float64 { return labelWidth + plotWidth*min(v, g.scale)/g.scale }
		dir := "lower is better"
		if higherIsBetter(g.unit) {
			dir = "higher is better"
		}
		fmt.Fprintf(&b, `<text x="10" y="%d" font-weight="bold">%s <tspan font-weight="normal" fill="#444">%s, %s</tspan></text>`+"\n",
			y+13, html.EscapeString(g.name), html.EscapeString(g.unit), dir)
		y += headHeight
		top := y
		// Labels go on top of the lines drawn after the bars.
		var labels strings.Builder
		for _, br := range g.bars {
			i := slices.Index(rs.transports, br.transport)
			fmt.Fprintf(&labels, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelWidth-6, y+12, html.EscapeString(br.transport))
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n",
				labelWidth, y, x(br.length)-labelWidth, barHeight, palette[i%len(palette)])
			label := br.label
			if br.length > g.scale {
				label = "» " + label
			}
			fmt.Fprintf(&labels, `<text x="%.1f" y="%d" stroke="white" stroke-width="3" paint-order="stroke">%s</text>`+"\n",
				x(br.length)+4, y+12, html.EscapeString(label))
			y += barHeight + barGap
		}
		if !g.absolute {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000"/>`+"\n", x(1), top-2, x(1), y)
		}
		if g.target > 0 {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#d00" stroke-width="2" stroke-dasharray="4 2"/>`+"\n",
				x(g.target), top-2, x(g.target), y)
		}
		b.WriteString(labels.String())
		y += groupGap
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
