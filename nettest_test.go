//go:build !js

package wsstream

import (
	"net"
	"testing"

	"golang.org/x/net/nettest"
)

// TestNetTest runs x/net/nettest's conformance suite over real loopback
// TCP, with the HTTP upgrade through Dial and Accept, in both
// orientations.
func TestNetTest(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dialerIsC1 bool
	}{
		{"DialerFirst", true},
		{"AcceptorFirst", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				client, server := newPair(t, pairOptions{})
				stop = func() { closeBoth(client, server) }
				if tc.dialerIsC1 {
					return client, server, stop, nil
				}
				return server, client, stop, nil
			})
		})
	}
}
