package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/wsstream/wsstream"
)

// parseServerURL checks the -url of the client: scheme ws, wss, http or
// https, and a host.
func parseServerURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return nil, fmt.Errorf("%q: the scheme must be ws, wss, http or https", raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host", raw)
	}
	return u, nil
}

// parseProxyURL checks -proxy: scheme http, https, socks5 or socks5h, and
// a host.
func parseProxyURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return nil, fmt.Errorf("%q: the scheme must be http, https, socks5 or socks5h", u.Redacted())
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host", u.Redacted())
	}
	return u, nil
}

// httpClient returns the client the WebSocket handshakes use: a transport
// of its own, HTTP/1.1 only (an HTTP/2 request cannot be upgraded), with
// proxy as its Proxy and, when caFile is set, the certificates in it as
// the only roots for wss://.
func httpClient(caFile string, proxy func(*http.Request) (*url.URL, error)) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ForceAttemptHTTP2 = false
	tr.Proxy = proxy
	tr.TLSClientConfig = &tls.Config{NextProtos: []string{"http/1.1"}}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("reading -ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-ca %s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Transport: tr}, nil
}

// backoff computes the waits between attempts to reach the server:
// exponential from min to max, each drawn at random between half and all
// of it, so that clients cut off together do not retry in step. The zero
// value uses 100ms and 5s.
type backoff struct{ min, max time.Duration }

// delay returns the wait after the attempt-th failed attempt (from 1).
func (b backoff) delay(attempt int) time.Duration {
	lo, hi := b.min, b.max
	if lo <= 0 {
		lo = 100 * time.Millisecond
	}
	if hi <= 0 {
		hi = 5 * time.Second
	}
	d := lo
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}

// dialRetry dials c.url, retrying with c.backoff while attempts fail, for
// at most c.retry in all (0: one attempt). Each attempt is bounded by
// c.dialTimeout and logged when it fails. A refusal by HTTP status 401
// (errUnauthorized) or another 4xx other than 408 and 429, and a server
// certificate that does not verify, are returned at once: they would not
// change. It returns ctx's error when ctx ends first.
func (c *tunnelClient) dialRetry(ctx context.Context, log *slog.Logger) (*wsstream.Conn, error) {
	deadline := time.Now().Add(c.retry)
	for attempt := 1; ; attempt++ {
		dctx, cancel := context.WithTimeout(ctx, c.dialTimeout)
		ws, resp, err := wsstream.Dial(dctx, c.url, c.opts)
		cancel()
		if err == nil {
			if attempt > 1 {
				log.Info("reached the server", "attempt", attempt)
			}
			return ws, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if verr := (*tls.CertificateVerificationError)(nil); errors.As(err, &verr) {
			return nil, fmt.Errorf("the server's certificate is not trusted (see -ca): %w", err)
		}
		if resp != nil {
			switch code := resp.StatusCode; {
			case code == http.StatusUnauthorized:
				return nil, errUnauthorized
			case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
				return nil, fmt.Errorf("the server refused the WebSocket: %w", err)
			}
		}
		wait := c.backoff.delay(attempt)
		if time.Now().Add(wait).After(deadline) {
			return nil, fmt.Errorf("gave up after %d attempt(s) in %v: %w", attempt, c.retry, err)
		}
		log.Warn("reaching the server failed; retrying", "attempt", attempt, "retry_in", wait.Round(time.Millisecond), "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, errors.Join(ctx.Err(), err)
		}
	}
}
