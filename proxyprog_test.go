//go:build !js

package wsstream

// Real proxy programs for the proxy tests: tinyproxy (HTTP, CONNECT) and
// microsocks (SOCKS5). As with the interop tests, a test that needs one
// skips when it is missing and CI is unset, and fails under CI. To
// install them on Debian:
//
//	apt-get install -y tinyproxy microsocks

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// proxyProgram returns the path of the program name (in PATH, /usr/bin
// or /usr/sbin), or skips or fails the test when it is missing.
func proxyProgram(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/bin", "/usr/sbin"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	const install = "Install: apt-get install -y tinyproxy microsocks"
	if os.Getenv("CI") == "" {
		t.Skipf("%s is missing; skipping because CI is unset (under CI=true this test fails instead). %s", name, install)
	}
	t.Fatalf("%s is missing, and proxy tests must run under CI. %s", name, install)
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// runningProxy is a proxy program started for a test.
type runningProxy struct {
	addr string        // where it listens, 127.0.0.1:port
	out  *lockedBuffer // its standard output (tinyproxy's log)
}

// startTinyproxy runs tinyproxy on a free loopback port with a
// configuration of its own plus conf's lines ("BasicAuth user pass",
// "ConnectPort 443"...). Without ConnectPort lines it tunnels to any port.
func startTinyproxy(t *testing.T, conf ...string) runningProxy {
	t.Helper()
	bin := proxyProgram(t, "tinyproxy")
	dir := t.TempDir()
	return startProxy(t, "tinyproxy", func(port string) *exec.Cmd {
		lines := append([]string{
			"Port " + port,
			"Listen 127.0.0.1",
			"Timeout 60",
			"MaxClients 64",
			"LogLevel Connect", // one line per request, on stdout with -d
		}, conf...)
		file := filepath.Join(dir, "tinyproxy-"+port+".conf")
		if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return exec.Command(bin, "-d", "-c", file)
	}, func(nc net.Conn) error {
		// Any answer of tinyproxy's is signed.
		if _, err := io.WriteString(nc, "GET / HTTP/1.0\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if s := resp.Header.Get("Server"); !strings.HasPrefix(s, "tinyproxy") {
			return fmt.Errorf("Server: %q", s)
		}
		return nil
	})
}

// startMicrosocks runs microsocks on a free loopback port; with a user
// name, it requires that user and password.
func startMicrosocks(t *testing.T, user, password string) runningProxy {
	t.Helper()
	bin := proxyProgram(t, "microsocks")
	return startProxy(t, "microsocks", func(port string) *exec.Cmd {
		args := []string{"-i", "127.0.0.1", "-p", port}
		if user != "" {
			args = append(args, "-u", user, "-P", password)
		}
		return exec.Command(bin, args...)
	}, func(nc net.Conn) error {
		// A SOCKS5 greeting offering no authentication: a SOCKS5 server
		// answers with version 5 and its choice (0xff: none acceptable).
		if _, err := nc.Write([]byte{5, 1, 0}); err != nil {
			return err
		}
		var b [2]byte
		if _, err := io.ReadFull(nc, b[:]); err != nil {
			return err
		}
		if b[0] != 5 {
			return fmt.Errorf("answered %x to a SOCKS5 greeting", b)
		}
		return nil
	})
}

// startProxy starts the program that command makes for a port, and
// returns once ready reports that the program answers on it. The port
// was free a moment before, but a parallel test may take it first: then
// the program fails to bind and exits, and another port is tried. The
// program is killed when the test ends.
func startProxy(t *testing.T, name string, command func(port string) *exec.Cmd, ready func(net.Conn) error) runningProxy {
	t.Helper()
	for attempt := 1; ; attempt++ {
		p, err := tryProxy(t, command, ready)
		if err == nil {
			return p
		}
		if attempt == 5 {
			t.Fatalf("%s did not start: %v", name, err)
		}
		t.Logf("%s, attempt %d: %v; trying another port", name, attempt, err)
	}
}

func tryProxy(t *testing.T, command func(port string) *exec.Cmd, ready func(net.Conn) error) (runningProxy, error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := command(port)
	p := runningProxy{addr: "127.0.0.1:" + port, out: new(lockedBuffer)}
	cmd.Stdout = p.out
	exited := startProcess(t, cmd, "")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output of %s:\n%s", filepath.Base(cmd.Path), p.out.String())
		}
	})
	// The programs say nothing when they are ready: poll, within a bound.
	for deadline := time.Now().Add(testTimeout); time.Now().Before(deadline); {
		nc, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			nc.SetDeadline(time.Now().Add(5 * time.Second))
			err = ready(nc)
			nc.Close()
			if err != nil {
				return runningProxy{}, fmt.Errorf("%s answered, but not as expected: %v", p.addr, err)
			}
			return p, nil
		}
		select {
		case err := <-exited:
			return runningProxy{}, fmt.Errorf("exited: %v", errors.Join(err, errors.New(p.out.String())))
		case <-time.After(20 * time.Millisecond):
		}
	}
	return runningProxy{}, fmt.Errorf("nothing answers on %s", p.addr)
}
