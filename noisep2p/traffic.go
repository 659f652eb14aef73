package noisep2p

import "sync/atomic"

// Traffic counts the application messages of a set of connections (a node shares one among all
// its connections through Config.Traffic) and their bytes as on the wire: each message's payload,
// its 5-byte header, and 18 bytes (length and tag) per frame. Ping, pong and disconnect are
// counted; the handshake is not. Safe for concurrent use; the zero value is ready.
type Traffic struct {
	sentBytes, recvBytes [256]atomic.Uint64
	sentMsgs, recvMsgs   [256]atomic.Uint64
}

// WireSize is the bytes a message of payload length n takes on the wire: frame₁ carries the
// 5-byte header and up to 65,514 payload bytes, each continuation frame up to 65,519, and every
// frame adds a 2-byte length and a 16-byte tag.
func WireSize(n int) uint64 {
	frames := 1
	if n > maxFirstData {
		frames += (n - maxFirstData + maxFramePlain - 1) / maxFramePlain
	}
	return uint64(n + msgHeaderSize + frames*(frameHeaderSize+tagSize))
}

func (t *Traffic) sent(typ uint8, n int) {
	if t != nil {
		t.sentBytes[typ].Add(WireSize(n))
		t.sentMsgs[typ].Add(1)
	}
}

func (t *Traffic) received(typ uint8, n int) {
	if t != nil {
		t.recvBytes[typ].Add(WireSize(n))
		t.recvMsgs[typ].Add(1)
	}
}

// Sent returns the messages of type typ sent and their bytes on the wire.
func (t *Traffic) Sent(typ uint8) (msgs, bytes uint64) {
	return t.sentMsgs[typ].Load(), t.sentBytes[typ].Load()
}

// Received returns the messages of type typ received and their bytes on the wire.
func (t *Traffic) Received(typ uint8) (msgs, bytes uint64) {
	return t.recvMsgs[typ].Load(), t.recvBytes[typ].Load()
}
