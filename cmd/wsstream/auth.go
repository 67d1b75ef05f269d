package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
)

// requireToken returns next when token is "", and otherwise a handler that
// answers 401 (Unauthorized), before any upgrade, to a request whose
// Authorization header is not exactly "Bearer " + token, and passes the
// others to next. The comparison takes the same time whatever the header
// holds: both sides are hashed with SHA-256 first, so not even the token's
// length leaks.
func requireToken(token string, next http.Handler, log *slog.Logger) http.Handler {
	if token == "" {
		return next
	}
	want := sha256.Sum256([]byte("Bearer " + token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			log.Warn("refused a request without the right token", "remote", r.RemoteAddr, "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer realm="wsstream"`)
			http.Error(w, "401 unauthorized: wsstream needs the right bearer token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
