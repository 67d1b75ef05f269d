package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestUsage checks the command line's errors: each wraps errUsage (exit
// status 2), names the problem and points at -h, and nothing goes to
// stdout.
func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		output string // in stderr or the error
	}{
		{[]string{"server", "-listen", "127.0.0.1:0"}, "-to is required"},
		{[]string{"client"}, "-url is required"},
		{[]string{"client", "-url", "ws://x/", "extra"}, "unexpected arguments"},
		{[]string{"server", "-bogus"}, "flag provided but not defined"},
		{[]string{"bogus"}, "unknown subcommand"},
		{[]string{"demo", "x"}, "demo takes no arguments"},
		{[]string{"client", "-url", "ftp://host/"}, "the scheme must be ws, wss, http or https"},
		{[]string{"client", "-url", "ws:///path"}, "has no host"},
		{[]string{"client", "-url", "host:8080"}, "the scheme must be"},
		{[]string{"client", "-url", "ws://h/", "-stdio", "-listen", "127.0.0.1:1"}, "exclude each other"},
		{[]string{"client", "-url", "ws://h/", "-proxy", "ftp://p:1"}, "the scheme must be http, https, socks5 or socks5h"},
		{[]string{"client", "-url", "ws://h/", "-proxy", "socks5://user:secret@"}, "has no host"},
		{[]string{"server", "-to", "h:1", "-tls-cert", "c.pem"}, "-tls-cert and -tls-key go together"},
		{[]string{"server", "-to", "h:1", "-log-level", "loud"}, "invalid value"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv(tokenEnv, "")
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tc.args, nil, &stdout, &stderr)
			if !errors.Is(err, errUsage) {
				t.Errorf("error %v, want errUsage", err)
			}
			if out := stderr.String() + fmt.Sprint(err); !strings.Contains(out, tc.output) {
				t.Errorf("output %q lacks %q", out, tc.output)
			}
			if strings.Contains(stderr.String()+fmt.Sprint(err), "secret") {
				t.Errorf("the proxy password shows in %q", stderr.String()+fmt.Sprint(err))
			}
			if stdout.Len() > 0 {
				t.Errorf("wrote %q to stdout", stdout.String())
			}
		})
	}
}

// TestHelp checks that -h prints a manual page to stdout with every flag
// and its default, examples and the exit status.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, []string{"SYNOPSIS", "wsstream server -to HOST:PORT", "wsstream client -url URL", "EXIT STATUS"}},
		{[]string{"server", "-h"}, []string{
			"SYNOPSIS", "EXAMPLES", "EXIT STATUS", "WSSTREAM_TOKEN", "401",
			"-listen ADDR", "Default: 127.0.0.1:8080.", "-to HOST:PORT", "-tls-cert FILE", "-tls-key FILE",
			"-token-file FILE", "-insecure-no-auth", "Default: off.", "-keepalive-interval DURATION", "Default: 30s.",
			"-keepalive-timeout DURATION", "Default: 15s.", "-drain-timeout DURATION", "-dial-timeout DURATION",
			"-log-level LEVEL", "Default: INFO.",
		}},
		{[]string{"client", "-h"}, []string{
			"SYNOPSIS", "EXAMPLES", "EXIT STATUS", "ProxyCommand='wsstream client -stdio", "HTTPS_PROXY",
			"-url URL", "-listen ADDR", "Default: 127.0.0.1:2222.", "-stdio", "-ca FILE", "-proxy URL",
			"socks5://", "-retry-timeout DURATION", "-token-file FILE", "-drain-timeout DURATION",
		}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := run(t.Context(), tc.args, nil, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
				t.Errorf("error %v, want flag.ErrHelp", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("the manual lacks %q:\n%s", w, stdout.String())
				}
			}
			if strings.Contains(stdout.String(), "%!") {
				t.Errorf("the manual has a formatting error:\n%s", stdout.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("wrote %q to stderr", stderr.String())
			}
		})
	}
}

// TestRefusesPublicWithoutAuth checks that the server does not listen on
// an address that is not loopback without a token, unless
// -insecure-no-auth says so.
func TestRefusesPublicWithoutAuth(t *testing.T) {
	t.Setenv(tokenEnv, "")
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"server", "-listen", "0.0.0.0:0", "-to", "127.0.0.1:1"}, nil, &stdout, &stderr)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "without authentication") {
		t.Fatalf("got %v, want a refusal to listen without authentication", err)
	}
	if stdout.Len() > 0 {
		t.Fatalf("it printed %q", stdout.String())
	}

	for name, args := range map[string][]string{
		"InsecureNoAuth": {"-insecure-no-auth"},
		"Token":          {"-token-file", writeFile(t, "token", "s3cret\n")},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(testContext(t))
			errCh := make(chan error, 1)
			out := newLineWriter()
			go func() {
				errCh <- run(ctx, append([]string{"server", "-listen", "0.0.0.0:0", "-to", "127.0.0.1:1"}, args...), nil, out, t.Output())
			}()
			select {
			case line := <-out.lines:
				if !strings.Contains(line, "listening on ws://[::]:") && !strings.Contains(line, "listening on ws://0.0.0.0:") {
					t.Errorf("it printed %q", line)
				}
			case err := <-errCh:
				t.Fatalf("run returned %v", err)
			case <-time.After(testTimeout):
				t.Fatal("it did not listen")
			}
			cancel()
			if err := <-errCh; err != nil {
				t.Fatalf("run returned %v after the cancel", err)
			}
		})
	}
}

// TestDemo runs `wsstream demo`, what `go run ./cmd/wsstream demo` runs.
func TestDemo(t *testing.T) {
	for _, args := range [][]string{nil, {"demo"}} {
		var stdout, stderr bytes.Buffer
		if err := run(testContext(t), args, nil, &stdout, &stderr); err != nil {
			t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
		for _, want := range []string{"checksums match", "we read EOF", "over 1 connection(s)"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, stdout.String())
			}
		}
		if stderr.Len() > 0 {
			t.Errorf("the demo logged problems:\n%s", stderr.String())
		}
	}
}

// TestCommandLine runs "wsstream server" and "wsstream client" as the command
// line does, on ports chosen by the system, and echoes through them; both
// return nil once their context is cancelled.
func TestCommandLine(t *testing.T) {
	target := startTarget(t, echoHandler)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()

	// start runs args and returns the address in the line it prints.
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	start := func(args ...string) string {
		pr, pw := io.Pipe()
		wg.Go(func() {
			err := run(ctx, args, nil, pw, t.Output())
			if err != nil {
				t.Errorf("run %q: %v", args, err)
			}
			pw.CloseWithError(fmt.Errorf("run returned %v", err))
		})
		line, err := bufio.NewReader(pr).ReadString('\n')
		go io.Copy(io.Discard, pr)
		if err != nil {
			t.Fatalf("run %q printed %q, then %v", args, line, err)
		}
		_, rest, ok := strings.Cut(line, "listening on ")
		addr, _, _ := strings.Cut(rest, ",")
		if !ok || addr == "" {
			t.Fatalf("run %q printed %q, want a listening address", args, line)
		}
		return addr
	}
	url := start("server", "-listen", "127.0.0.1:0", "-to", target)
	if !strings.HasPrefix(url, "ws://127.0.0.1:") {
		t.Fatalf("the server printed the URL %q", url)
	}
	addr := start("client", "-listen", "127.0.0.1:0", "-url", url)

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	if err := echoThrough(c, 3, 1<<20); err != nil {
		t.Fatal(err)
	}
}
