package wsstream

// A browser gives no socket to decode from: every read goes through the
// browser's WebSocket (see readdirect.go for the native build).

// firstRest is 0: the read loop starts at once (startResting).
const firstRest = 0

func (*Conn) readDirect([]byte, <-chan struct{}) (int, bool) { return 0, false }
func (*Conn) decodeTurn() error                              { return nil }
func (*Conn) coderMessageDone()                              {}
func (*Conn) interruptRead()                                 {}
func (*Conn) endDirect()                                     {}
func (*Conn) wakeResting()                                   {}
func (*Conn) loopStarts()                                    {}
func (*Conn) startResting() bool                             { return false }
func (*Conn) endFirstPeriod()                                {}
