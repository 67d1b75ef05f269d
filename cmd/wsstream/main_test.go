package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// binDir holds the wsstream binary that binary builds for the tests that
// run it as a program.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

const testTimeout = 120 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

var (
	buildOnce sync.Once
	buildErr  error
)

// binary returns the path of the wsstream command, built once for the
// test binary (go build, in workspace mode when a go.work is above).
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wsstream-test-bin")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "wsstream"), ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "wsstream")
}

// requireProgram returns the path of an outside program the test needs.
// When it is missing, the test is skipped, unless CI is set: then it
// fails.
func requireProgram(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed, and CI is set: it must be", name)
	}
	t.Skipf("%s is not installed (CI unset, so the test is skipped)", name)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// proc is a program the test started.
type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	lines  chan string // stdout, line by line, closed at EOF
	doneCh chan struct{}
	err    error // of Wait, after doneCh is closed
}

// syncBuffer is a bytes.Buffer safe for concurrent use, whose content
// can be waited for.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced at every Write
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return s.b.Write(p)
}

// waitFor waits, at most testTimeout, until the buffer contains sub.
func (s *syncBuffer) waitFor(t *testing.T, sub string) {
	t.Helper()
	timeout := time.After(testTimeout)
	for {
		s.mu.Lock()
		if strings.Contains(s.b.String(), sub) {
			s.mu.Unlock()
			return
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("%q did not appear in:\n%s", sub, s.String())
		}
	}
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the program with args and env added to the environment.
// When the test ends, the program is killed (if it still runs) and waited
// for, and its stderr is logged.
func start(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, stderr: &syncBuffer{}, lines: make(chan string, 100), doneCh: make(chan struct{})}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default: // nobody reads that far
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.doneCh)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-p.doneCh:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not exit after SIGKILL", name)
		}
		if s := p.stderr.String(); s != "" {
			t.Logf("%s %s stderr:\n%s", filepath.Base(name), strings.Join(args, " "), s)
		}
	})
	return p
}

// listening waits for the line in which a wsstream command says where it
// listens, and returns that address or URL.
func (p *proc) listening(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-p.lines:
		_, rest, found := strings.Cut(line, "listening on ")
		addr, _, _ := strings.Cut(rest, ",")
		if !ok || !found || addr == "" {
			t.Fatalf("the program printed %q (%v), want a listening address; stderr:\n%s", line, ok, p.stderr.String())
		}
		return addr
	case <-time.After(testTimeout):
		t.Fatalf("the program did not say where it listens; stderr:\n%s", p.stderr.String())
	}
	return ""
}

// stop sends sig and waits, at most timeout, for the program to exit; it
// returns Wait's error.
func (p *proc) stop(t *testing.T, sig syscall.Signal, timeout time.Duration) error {
	t.Helper()
	p.cmd.Process.Signal(sig)
	return p.wait(t, timeout)
}

// wait waits, at most timeout, for the program to exit.
func (p *proc) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.doneCh:
		return p.err
	case <-time.After(timeout):
		t.Fatalf("the program did not exit within %v; stderr:\n%s", timeout, p.stderr.String())
	}
	return nil
}

// startPair runs the wsstream binary as a server forwarding to target and
// as a listening client in front of it, both with the extra flags, and
// returns them and the client's address.
func startPair(t *testing.T, target string, serverFlags, clientFlags []string) (server, client *proc, addr string) {
	t.Helper()
	bin := binary(t)
	server = start(t, nil, bin, append([]string{"server", "-listen", "127.0.0.1:0", "-to", target}, serverFlags...)...)
	url := server.listening(t)
	client = start(t, nil, bin, append([]string{"client", "-listen", "127.0.0.1:0", "-url", url}, clientFlags...)...)
	return server, client, client.listening(t)
}
