package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// TestAuth runs a server that requires a token (from a file) and checks
// that upgrades without it are refused with 401 before any upgrade, that
// a client with the wrong token gives up at once, and that one with the
// right token (from the environment) gets through.
func TestAuth(t *testing.T) {
	target := startTarget(t, echoHandler)
	tokenFile := writeFile(t, "token", "  correct horse battery staple\n")
	t.Setenv(tokenEnv, "")
	url, serverLog := runInProcess(t, "server", "-listen", "127.0.0.1:0", "-to", target, "-token-file", tokenFile)

	for name, header := range map[string]string{
		"NoHeader":    "",
		"WrongToken":  "Bearer correct horse battery",
		"LongerToken": "Bearer correct horse battery staple!",
		"NotBearer":   "Basic correct horse battery staple",
	} {
		t.Run(name, func(t *testing.T) {
			h := http.Header{}
			if header != "" {
				h.Set("Authorization", header)
			}
			ws, resp, err := websocket.Dial(testContext(t), url, &websocket.DialOptions{HTTPHeader: h})
			if err == nil {
				ws.CloseNow()
				t.Fatal("the upgrade succeeded")
			}
			if resp == nil || resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("got %v, %v; want HTTP 401 with WWW-Authenticate: Bearer", resp, err)
			}
		})
	}
	if !strings.Contains(serverLog.String(), "refused a request without the right token") {
		t.Errorf("the server did not log the refusals:\n%s", serverLog.String())
	}

	t.Run("ClientWrongToken", func(t *testing.T) {
		t.Setenv(tokenEnv, "wrong")
		addr, clientLog := runInProcess(t, "client", "-listen", "127.0.0.1:0", "-url", url)
		requireResetAt(t, addr)
		if log := clientLog.String(); !strings.Contains(log, "refused the token (HTTP 401)") || strings.Contains(log, "retrying") {
			t.Fatalf("the client should log the 401 and not retry:\n%s", log)
		}
	})

	t.Run("ClientRightToken", func(t *testing.T) {
		t.Setenv(tokenEnv, "correct horse battery staple")
		addr, _ := runInProcess(t, "client", "-listen", "127.0.0.1:0", "-url", url)
		if err := echoThrough(dialTCP(t, addr), 5, 256<<10); err != nil {
			t.Fatal(err)
		}
	})
}

// TestTokenSources checks where the token comes from: -token-file first,
// trimmed, then $WSSTREAM_TOKEN; an empty or missing file is an error.
func TestTokenSources(t *testing.T) {
	t.Setenv(tokenEnv, " from-env ")
	for _, tc := range []struct {
		file    string
		want    string
		wantErr string
	}{
		{"", "from-env", ""},
		{writeFile(t, "a", "from-file\r\n"), "from-file", ""},
		{writeFile(t, "b", " \n"), "", "is empty"},
		{"/nonexistent/token", "", "no such file"},
	} {
		f := commonFlags{tokenFile: tc.file}
		got, err := f.token()
		if got != tc.want || (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("file %q: got %q, %v; want %q, error containing %q", tc.file, got, err, tc.want, tc.wantErr)
		}
	}
}
