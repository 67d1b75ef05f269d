package wsstream

import (
	"fmt"

	"github.com/coder/websocket"
)

// textCloseCode is the status of the close frame that refuses a text
// message. Browsers let scripts send only 1000 and 3000-4999, so it is
// 4003 (1003, unsupported data, in the private-use range) instead of
// 1003.
const textCloseCode websocket.StatusCode = 4003

// protocolErrorCloseCode is the status of the close frame that refuses
// data after the end of the peer's stream: 4002, as a browser cannot send 1002.
const protocolErrorCloseCode websocket.StatusCode = 4002

// checkCloseCode returns an error unless a browser lets a script close
// with code: only 1000 and 3000-4999 (WebSocket.close throws
// InvalidAccessError for any other).
func checkCloseCode(code websocket.StatusCode) error {
	if code == websocket.StatusNormalClosure || (code >= 3000 && code <= 4999) {
		return nil
	}
	return fmt.Errorf("wsstream: a browser can close a WebSocket only with status 1000 or 3000-4999, not %d", code)
}
