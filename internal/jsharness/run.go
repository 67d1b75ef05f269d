//go:build !js

package jsharness

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultTimeout bounds a whole run of js tests in the browser when
// Config.Timeout is zero.
const DefaultTimeout = 3 * time.Minute

// Config configures RunTests.
type Config struct {
	// Register adds the endpoints the js tests use to the server's mux.
	// The server also serves /, /wasm_exec.js, /test.wasm, /config and
	// /result.
	Register func(mux *http.ServeMux)
	// Timeout bounds the run (default DefaultTimeout); the js test binary
	// gets a -test.timeout 20 s shorter.
	Timeout time.Duration
	// Stop, if set, runs when the test ends, after Chromium is killed and
	// before the server is closed: it must make cfg's handlers return.
	Stop func()
	// RunEnv names an environment variable whose value, when set, is
	// passed to the js tests as -test.run.
	RunEnv string
}

// RunTests runs the js tests (*_js_test.go) of the package in the current
// directory in headless Chromium: it builds them with GOOS=js
// GOARCH=wasm, serves a page that runs the wasm binary with -test.v and
// posts back its output and exit code, serves cfg's endpoints, logs the
// output and fails t if the js tests failed. The js tests find the
// server's URL in the environment variable EnvServer.
//
// When the test ends (t.Cleanup) Chromium is killed, with every process
// it started, then cfg.Stop runs, then the server is closed.
func RunTests(t *testing.T, cfg Config) {
	t.Helper()
	chromium := FindChromium(t)
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	wasm := filepath.Join(t.TempDir(), "test.wasm")
	BuildWasm(ctx, t, wasm, "test", "-c", ".")
	execJS := WasmExecJS(ctx, t)

	argv := []string{"js.test", "-test.v", "-test.timeout=" + (timeout - 20*time.Second).String()}
	if cfg.RunEnv != "" {
		if run := os.Getenv(cfg.RunEnv); run != "" {
			argv = append(argv, "-test.run="+run)
		}
	}
	type result struct {
		code   int
		output string
	}
	results := make(chan result, 1)
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
	mux.HandleFunc("/wasm_exec.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, execJS)
	})
	mux.HandleFunc("/test.wasm", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/wasm")
		http.ServeFile(w, r, wasm)
	})
	mux.HandleFunc("/config", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"argv": argv,
			"env":  map[string]string{EnvServer: "http://" + r.Host},
		})
	})
	mux.HandleFunc("POST /result", func(w http.ResponseWriter, r *http.Request) {
		out, _ := io.ReadAll(r.Body)
		code, err := strconv.Atoi(r.URL.Query().Get("code"))
		if err != nil {
			code = -1
		}
		once.Do(func() { results <- result{code, string(out)} })
	})
	if cfg.Register != nil {
		cfg.Register(mux)
	}
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	if cfg.Stop != nil {
		t.Cleanup(cfg.Stop)
	}

	exited, stderr := StartChromium(t, chromium, s.URL+"/")
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case res := <-results:
		t.Logf("output of the js tests (exit code %d):\n%s", res.code, res.output)
		if res.code != 0 {
			t.Errorf("the js tests failed in Chromium (exit code %d)", res.code)
		}
	case err := <-exited:
		t.Fatalf("chromium exited (%v) before the page reported; its output:\n%s", err, stderr())
	case <-timer.C:
		t.Fatalf("the page did not report within %v; chromium's output:\n%s", timeout, stderr())
	}
}

// BuildWasm runs the go command with args (a build or test -c command
// without its -o) for GOOS=js GOARCH=wasm in the current directory,
// writing the binary to out. It fails t if the build fails.
func BuildWasm(ctx context.Context, t testing.TB, out string, args ...string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build for js/wasm: %v", err)
	}
	args = append([]string{args[0], "-o", out}, args[1:]...)
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
}

// WasmExecJS returns the path of the wasm_exec.js of the go command's
// GOROOT, which a page needs to run a wasm binary built by it.
func WasmExecJS(ctx context.Context, t testing.TB) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	root := strings.TrimSpace(string(out))
	for _, p := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			return filepath.Join(root, p)
		}
	}
	t.Fatalf("wasm_exec.js is not in %s/lib/wasm or %s/misc/wasm", root, root)
	return ""
}

// page runs the js test binary with the argv and env from /config,
// capturing what it writes to stdout and stderr, and posts that and the
// exit code to /result.
const page = `<!doctype html>
<meta charset="utf-8">
<title>js tests</title>
<script src="/wasm_exec.js"></script>
<script>
(async () => {
  let output = "";
  const decoder = new TextDecoder("utf-8");
  // wasm_exec.js writes through fs.writeSync (fs.write calls it).
  globalThis.fs.writeSync = (fd, buf) => {
    output += decoder.decode(buf, {stream: true});
    return buf.length;
  };
  let code = -1;
  try {
    const config = await (await fetch("/config")).json();
    const go = new Go();
    go.argv = config.argv;
    go.env = config.env;
    go.exit = (c) => { code = c; };
    const {instance} = await WebAssembly.instantiateStreaming(fetch("/test.wasm"), go.importObject);
    await go.run(instance);
  } catch (e) {
    output += "\npage: " + e + "\n" + (e.stack || "") + "\n";
    code = -1;
  }
  await fetch("/result?code=" + code, {method: "POST", body: output});
})();
</script>
`
