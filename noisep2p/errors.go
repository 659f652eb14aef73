package noisep2p

import "errors"

// Handshake errors.
var (
	// ErrHandshakeAuth is returned by the initiator when noise authentication fails at message 2: the
	// responder uses another prologue (a different chain or protocol major version), or the message
	// was tampered with.
	ErrHandshakeAuth = errors.New("different chain or version (noise authentication failed at message 2)")
	// ErrBadHandshake is returned when a handshake message is malformed or fails authentication at
	// message 3, or when the remote's ephemeral key is unusable (a low-order point).
	ErrBadHandshake = errors.New("bad handshake message")
	// ErrPeerMismatch is returned by the initiator when the responder's static key is not the
	// expected one. Message 3 is never sent, so the wrong peer does not learn our identity.
	ErrPeerMismatch = errors.New("peer id mismatch")
	// ErrSelf is returned when the remote static key is our own.
	ErrSelf = errors.New("connected to self")
	// ErrBadHello is returned when a hello is malformed (see DecodeHello) or the local hello is invalid.
	ErrBadHello = errors.New("bad hello")
	// ErrWrongChain is returned when an authenticated hello names another genesis hash. The prologue
	// makes this unreachable for honest peers; it is a second line of defence.
	ErrWrongChain = errors.New("hello names a different genesis")
)

// Transport errors.
var (
	// ErrBadFrame is returned when a frame length is out of range: a handshake frame of the wrong
	// size, a runt transport frame, a frame carrying more bytes than its message declared.
	ErrBadFrame = errors.New("bad frame")
	// ErrDecrypt is returned when a transport frame fails authentication (tampered, replayed,
	// reordered or injected ciphertext). The connection cannot continue.
	ErrDecrypt = errors.New("frame authentication failed")
	// ErrMsgTooLarge is returned when a message declares (or, in Send, has) more bytes than the limit
	// of its type. The reader rejects it as soon as the first frame decrypts, before allocating.
	ErrMsgTooLarge = errors.New("message too large")
	// ErrNonceExhausted is returned when a cipher state reaches the Noise maximum nonce (2^64-2
	// frames in one direction). The connection must be re-established.
	ErrNonceExhausted = errors.New("noise nonce space exhausted")
	// ErrSlowPeer is returned when the send queue is full: the peer does not read fast enough and
	// the connection is dropped.
	ErrSlowPeer = errors.New("peer too slow (send queue full)")
	// ErrIdleTimeout is returned when no message starts within Config.IdleTimeout.
	ErrIdleTimeout = errors.New("peer idle too long")
	// ErrMessageTimeout is returned when a message is not complete within its per-message deadline
	// (MessageTimeout + length / MinRate after its first frame).
	ErrMessageTimeout = errors.New("message not completed in time")
	// ErrWriteTimeout is returned when a message cannot be written within its write deadline
	// (WriteTimeout + length / MinRate).
	ErrWriteTimeout = errors.New("write timed out")
	// ErrPeerDisconnected is the target that a *DisconnectError matches with errors.Is: the remote
	// sent a Disconnect message.
	ErrPeerDisconnected = errors.New("peer disconnected")
	// ErrClosed is returned by Err and Send after Close, and by Send after the connection failed
	// when no better reason is known.
	ErrClosed = errors.New("connection closed")
	// ErrReservedType is returned by Send for the transport's own message types (ping and pong).
	ErrReservedType = errors.New("message type is reserved for the transport")
)

// Codec errors.
var (
	// ErrMalformed is returned by the message decoders when the payload does not have the exact
	// encoding of a valid message (wrong length, count over its limit, bad field, trailing bytes).
	ErrMalformed = errors.New("malformed message")
	// ErrUnknownMessage is returned by DecodeMessage for a type this package does not know. The
	// transport still delivers such messages (with the 64 KiB default limit); receiving one is a
	// protocol violation and the caller decides what to do.
	ErrUnknownMessage = errors.New("unknown message type")
)

// DisconnectError is the reason a connection failed when the remote sent a Disconnect message.
// errors.Is(err, ErrPeerDisconnected) reports true for it.
type DisconnectError struct {
	Reason string // as sent by the peer: at most 256 bytes of valid UTF-8
}

func (e *DisconnectError) Error() string { return "peer disconnected: " + e.Reason }

// Is makes errors.Is(err, ErrPeerDisconnected) true.
func (e *DisconnectError) Is(target error) bool { return target == ErrPeerDisconnected }
