//go:build !js

package jsharness

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// FindChromium returns the path of Chromium. When it is missing, the test
// is skipped if CI is unset, and fails under CI, where it must run.
func FindChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	const install = "Install it: apt-get install -y chromium"
	if os.Getenv("CI") == "" {
		t.Skip("chromium is missing; skipping because CI is unset (under CI=true this test fails instead). " + install)
	}
	t.Fatal("chromium is missing, and the browser tests must run under CI. " + install)
	return ""
}

// StartChromium runs headless Chromium on url with its profile in a fresh
// directory. When the test ends it kills the browser's process group and
// every process still naming the profile, and waits for them. exited
// receives the result of Wait.
func StartChromium(t *testing.T, path, url string) (exited <-chan error, stderr func() string) {
	t.Helper()
	home := t.TempDir()
	profile := filepath.Join(home, "profile")
	cmd := exec.Command(path,
		"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+profile, url)
	cmd.Env = append(os.Environ(), "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_CACHE_HOME="+filepath.Join(home, ".cache"))
	var buf LockedBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	waitCh := make(chan error, 1)
	waited := make(chan struct{})
	go func() {
		waitCh <- cmd.Wait()
		close(waited)
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-waited
		KillMarked(t, profile)
	})
	return waitCh, buf.String
}

// KillMarked kills every process whose command line contains marker (a
// browser's helpers may leave its process group) and waits, at most 5 s,
// until none is left. Tests of other packages use it for the programs
// they start, too.
func KillMarked(t *testing.T, marker string) {
	t.Helper()
	for start := time.Now(); ; {
		left := 0
		files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil || !bytes.Contains(b, []byte(marker)) {
				continue
			}
			pid, err := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			if err != nil || pid == os.Getpid() {
				continue
			}
			left++
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if left == 0 {
			return
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("%d processes with %q in their command line are still there", left, marker)
			return
		}
		time.Sleep(20 * time.Millisecond) // a killed process lingers until reaped
	}
}

// LockedBuffer is a bytes.Buffer safe for concurrent use: the output of a
// program the tests start.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
