package wsstream

// A browser gives no socket to decode from: every read goes through the
// browser's WebSocket (see readdirect.go for the native build).

func (*Conn) readDirect([]byte) (int, bool) { return 0, false }
func (*Conn) decodeTurn() error             { return nil }
func (*Conn) coderMessageDone()             {}
func (*Conn) interruptRead()                {}
func (*Conn) endDirect()                    {}
func (*Conn) wakeResting()                  {}
func (*Conn) loopStarts()                   {}
