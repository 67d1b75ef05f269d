//go:build !js

package wsstream

import (
	"fmt"

	"github.com/coder/websocket"
)

// textCloseCode is the status of the close frame that refuses a text
// message: 1003 (unsupported data).
const textCloseCode = websocket.StatusUnsupportedData

// protocolErrorCloseCode is the status of the close frame that refuses
// data after the end of the peer's stream: 1002 (protocol error).
const protocolErrorCloseCode websocket.StatusCode = websocket.StatusProtocolError

// checkCloseCode returns an error unless code may be sent in a close
// frame (RFC 6455 section 7.4): 1000-1014 except 1004, 1005 and 1006, and
// 3000-4999.
func checkCloseCode(code websocket.StatusCode) error {
	switch {
	case code >= 3000 && code <= 4999:
		return nil
	case code >= websocket.StatusNormalClosure && code <= websocket.StatusBadGateway &&
		code != 1004 && code != websocket.StatusNoStatusRcvd && code != websocket.StatusAbnormalClosure:
		return nil
	}
	return fmt.Errorf("wsstream: status %d cannot be sent in a close frame", code)
}
