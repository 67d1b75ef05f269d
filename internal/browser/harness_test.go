//go:build !js

package browser

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

// browserTimeout bounds the whole run of the js tests in the browser; the
// js test binary gets a -test.timeout a little shorter.
const browserTimeout = 3 * time.Minute

// TestBrowser runs this package's js tests (*_js_test.go) in headless
// Chromium: it builds them with GOOS=js GOARCH=wasm, serves a page that
// runs the wasm binary and posts back its output and exit code, serves
// the WebSocket endpoints the tests use, and fails with the output if the
// js tests failed. Set WSSTREAM_BROWSER_RUN to pass -test.run to them.
func TestBrowser(t *testing.T) {
	chromium := findChromium(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the js tests: %v", err)
	}
	wasm, execJS := buildJSTests(t, goBin)

	argv := []string{"browser.test", "-test.v", "-test.timeout=" + (browserTimeout - 20*time.Second).String()}
	if run := os.Getenv("WSSTREAM_BROWSER_RUN"); run != "" {
		argv = append(argv, "-test.run="+run)
	}
	ws := newWSServer()
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
			"env":  map[string]string{envServer: "http://" + r.Host},
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
	ws.register(mux)
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	t.Cleanup(ws.stop) // runs before s.Close, after Chromium is gone

	exited, stderr := startChromium(t, chromium, s.URL+"/")
	select {
	case res := <-results:
		t.Logf("output of the js tests (exit code %d):\n%s", res.code, res.output)
		if res.code != 0 {
			t.Errorf("the js tests failed in Chromium (exit code %d)", res.code)
		}
	case err := <-exited:
		t.Fatalf("chromium exited (%v) before the page reported; its output:\n%s", err, stderr())
	case <-time.After(browserTimeout):
		t.Fatalf("the page did not report within %v; chromium's output:\n%s", browserTimeout, stderr())
	}
}

// buildJSTests compiles this package's tests for js/wasm and returns the
// binary and the wasm_exec.js of the same Go.
func buildJSTests(t *testing.T, goBin string) (wasm, execJS string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	wasm = filepath.Join(t.TempDir(), "browser.test.wasm")
	build := exec.CommandContext(ctx, goBin, "test", "-c", "-o", wasm, ".")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go test -c: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, goBin, "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	root := strings.TrimSpace(string(out))
	for _, p := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			return wasm, filepath.Join(root, p)
		}
	}
	t.Fatalf("wasm_exec.js is not in %s/lib/wasm or %s/misc/wasm", root, root)
	return "", ""
}

// page runs the js test binary with the argv and env from /config,
// capturing what it writes to stdout and stderr, and posts that and the
// exit code to /result.
const page = `<!doctype html>
<meta charset="utf-8">
<title>internal/browser js tests</title>
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
