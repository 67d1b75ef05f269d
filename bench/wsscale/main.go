// Command wsscale measures what idle wsstream connections cost as their
// number grows.
//
// It opens idle connection pairs over loopback TCP in steps (-n), and at
// each step reports the heap and goroutine stacks per connection, and the
// goroutines per Conn. The server side runs in this process, by default
// with one goroutine per accepted Conn blocked in Read, as a server has;
// the client side runs in a child process (this program, re-executed),
// so that each process needs one file descriptor per connection rather
// than two.
//
// Usage:
//
//	go run ./bench/wsscale [-n 1000,5000,15000] [-dialers 16] [-reader=false] [-memprofile prefix]
//
// With -memprofile, each process writes a heap profile after the last
// step, to prefix.server.pprof and prefix.client.pprof; see them with
// go tool pprof -sample_index=inuse_space -top.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wsstream/wsstream"
)

// Environment variables through which the program tells its child that
// it is the client process: the server's URL, -dialers and the heap
// profile to write.
const (
	childEnv      = "WSSCALE_SERVER_URL"
	dialersEnv    = "WSSCALE_DIALERS"
	memProfileEnv = "WSSCALE_MEMPROFILE"
)

// profileRate is the heap profiling rate with -memprofile: a sample per
// KiB allocated, so that objects of a few hundred bytes per Conn show.
const profileRate = 1 << 10

// fdSlack is how many file descriptors a process needs besides one per
// connection: standard streams, the listener, the epoll instance, pipes.
const fdSlack = 64

func main() {
	if url := os.Getenv(childEnv); url != "" {
		dialers, _ := strconv.Atoi(os.Getenv(dialersEnv))
		memProfile := os.Getenv(memProfileEnv)
		if memProfile != "" {
			runtime.MemProfileRate = profileRate
		}
		if err := runClient(url, max(dialers, 1), memProfile, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "wsscale client:", err)
			os.Exit(1)
		}
		return
	}
	steps := flag.String("n", "1000,5000,15000", "comma-separated, increasing `counts` of connection pairs to measure at")
	dialers := flag.Int("dialers", 16, "how many connections the client process dials concurrently")
	reader := flag.Bool("reader", true, "run a goroutine blocked in Read per accepted Conn, as a server would")
	memProfile := flag.String("memprofile", "", "write heap profiles after the last step to `prefix`.server.pprof and prefix.client.pprof")
	flag.Parse()
	if *memProfile != "" {
		runtime.MemProfileRate = profileRate
	}
	ns, err := parseSteps(*steps)
	if err == nil {
		err = run(ns, *dialers, *reader, *memProfile)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wsscale:", err)
		os.Exit(1)
	}
}

// parseSteps parses the -n flag.
func parseSteps(s string) ([]int, error) {
	var ns []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-n: %q is not a positive count", f)
		}
		if len(ns) > 0 && n <= ns[len(ns)-1] {
			return nil, errors.New("-n: counts must increase")
		}
		ns = append(ns, n)
	}
	if len(ns) == 0 {
		return nil, errors.New("-n: no counts")
	}
	return ns, nil
}

// usage is what a process holds: the runtime's heap and stacks, its
// goroutines and its resident set.
type usage struct {
	heapStack  uint64 // HeapAlloc + StackInuse, after GC
	goroutines int
	rss        uint64 // VmRSS, or 0 where unknown
}

// measure collects garbage, twice so that sync.Pool caches are emptied
// too, and returns what the process holds.
func measure() usage {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return usage{
		heapStack:  ms.HeapAlloc + ms.StackInuse,
		goroutines: runtime.NumGoroutine(),
		rss:        residentSet(),
	}
}

// residentSet returns the process's resident set size from
// /proc/self/status, or 0 where that is unavailable.
func residentSet() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kib << 10
		}
	}
	return 0
}

// run is the server process: it serves Conns, drives the client process
// through the steps and prints the table.
func run(steps []int, dialers int, reader bool, memProfile string) error {
	// One pair is opened before the baseline, so that what is set up
	// once (pools, the HTTP client) is not counted.
	last := steps[len(steps)-1] + 1
	if err := ensureFiles(last + fdSlack); err != nil {
		return err
	}

	srv := newServer(reader)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	defer hs.Close()

	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(),
		childEnv+"=ws://"+ln.Addr().String(),
		dialersEnv+"="+strconv.Itoa(dialers))
	if memProfile != "" {
		cmd.Env = append(cmd.Env, memProfileEnv+"="+memProfile+".client.pprof")
	}
	cmd.Stderr = os.Stderr
	toChild, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	fromChild, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	// Closing the child's stdin ends it; its connections die with it.
	defer cmd.Wait()
	defer toChild.Close()
	replies := bufio.NewScanner(fromChild)

	// step asks the client process for n connections in all and returns
	// what each side holds once they are established.
	step := func(n int) (client, server usage, elapsed time.Duration, err error) {
		start := time.Now()
		if _, err := fmt.Fprintln(toChild, n); err != nil {
			return usage{}, usage{}, 0, err
		}
		if !replies.Scan() {
			err := replies.Err()
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return usage{}, usage{}, 0, fmt.Errorf("client process: %w", err)
		}
		client, err = parseUsage(replies.Text())
		if err != nil {
			return usage{}, usage{}, 0, err
		}
		if err := srv.waitFor(n, time.Minute); err != nil {
			return usage{}, usage{}, 0, err
		}
		elapsed = time.Since(start)
		settleGoroutines()
		return client, measure(), elapsed, nil
	}

	baseC, baseS, _, err := step(1)
	if err != nil {
		return err
	}
	fmt.Printf("wsscale: %s %s/%s, GOMAXPROCS=%d, %d CPUs; client in process %d, server in process %d\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU(), cmd.Process.Pid, os.Getpid())
	fmt.Println("memory is the live heap and goroutine stacks (HeapAlloc+StackInuse) after GC, and the resident set (RSS); growth from a baseline with one pair open")
	fmt.Println("          heap+stack KiB per conn         heap+stack KiB per pair       RSS KiB per conn   goroutines per conn")
	fmt.Println("  pairs      client      server         average      marginal       client   server       client   server   open time")
	prevN, prevMem := 0, uint64(0)
	for _, n := range steps {
		c, s, elapsed, err := step(n + 1)
		if err != nil {
			return err
		}
		cm, sm := c.heapStack-baseC.heapStack, s.heapStack-baseS.heapStack
		fn := float64(n)
		fmt.Printf("%7d  %10.2f  %10.2f  %14.2f  %12.2f  %11.2f  %7.2f  %11.2f  %7.2f  %10v\n",
			n, kib(cm)/fn, kib(sm)/fn, kib(cm+sm)/fn,
			kib(cm+sm-prevMem)/float64(n-prevN),
			kib(c.rss-baseC.rss)/fn, kib(s.rss-baseS.rss)/fn,
			float64(c.goroutines-baseC.goroutines)/fn,
			float64(s.goroutines-baseS.goroutines)/fn,
			elapsed.Round(time.Millisecond))
		prevN, prevMem = n, cm+sm
	}
	if memProfile != "" {
		if err := writeHeapProfile(memProfile + ".server.pprof"); err != nil {
			return err
		}
	}
	if reader {
		fmt.Println("server conns each have one application goroutine blocked in Read; client conns have none")
	} else {
		fmt.Println("no application goroutines: only the Conns' own")
	}
	return nil
}

func kib(b uint64) float64 { return float64(b) / 1024 }

// settleGoroutines waits until the number of goroutines stops changing,
// as the goroutines of finished handshakes exit.
func settleGoroutines() {
	n := runtime.NumGoroutine()
	for range 200 {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			return
		}
		n = m
	}
}

// server accepts Conns and, if reader is set, reads from each until it
// ends.
type server struct {
	reader  bool
	mu      sync.Mutex
	conns   []*wsstream.Conn
	changed chan struct{} // closed and replaced when conns grows
}

func newServer(reader bool) *server {
	return &server{reader: reader, changed: make(chan struct{})}
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := wsstream.Accept(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.conns = append(s.conns, c)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if s.reader {
		go read(c)
	}
}

// read is the application's reader of an accepted Conn: it reads until
// the Conn ends. It runs apart from the HTTP handler, whose goroutine
// would keep net/http's per-request state alive.
func read(c *wsstream.Conn) {
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

// waitFor waits until n Conns have been accepted.
func (s *server) waitFor(n int, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.conns), s.changed
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return fmt.Errorf("accepted %d of %d connections in %v", got, n, timeout)
		}
	}
}

// writeHeapProfile writes a heap profile to the named file.
func writeHeapProfile(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runClient is the client process. For each count read from in, it dials
// until it holds that many Conns and writes what it holds to out; when
// memProfile is set, it then writes a heap profile there. It returns when
// in ends.
func runClient(url string, dialers int, memProfile string, in io.Reader, out io.Writer) error {
	var conns []*wsstream.Conn
	counts := bufio.NewScanner(in)
	for counts.Scan() {
		n, err := strconv.Atoi(counts.Text())
		if err != nil {
			return fmt.Errorf("bad count %q", counts.Text())
		}
		if err := ensureFiles(n + fdSlack); err != nil {
			return err
		}
		more, err := dialN(url, n-len(conns), dialers)
		conns = append(conns, more...)
		if err != nil {
			return err
		}
		settleGoroutines()
		u := measure()
		if memProfile != "" {
			if err := writeHeapProfile(memProfile); err != nil {
				return err
			}
		}
		if _, err := fmt.Fprintf(out, "%d %d %d\n", u.heapStack, u.goroutines, u.rss); err != nil {
			return err
		}
	}
	return counts.Err()
}

// dialN dials n Conns to url, with up to dialers at a time.
func dialN(url string, n, dialers int) ([]*wsstream.Conn, error) {
	conns := make([]*wsstream.Conn, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(dialers, n) {
		wg.Go(func() {
			for i := range next {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				conns[i], _, errs[i] = wsstream.Dial(ctx, url, nil)
				cancel()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return slices.DeleteFunc(conns, func(c *wsstream.Conn) bool { return c == nil }), errors.Join(errs...)
}

// parseUsage parses a line written by runClient.
func parseUsage(line string) (usage, error) {
	var u usage
	if _, err := fmt.Sscan(line, &u.heapStack, &u.goroutines, &u.rss); err != nil {
		return usage{}, fmt.Errorf("client process: bad reply %q: %v", line, err)
	}
	return u, nil
}
