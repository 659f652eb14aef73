// Package noisep2p is Actorchain's peer-to-peer transport: a Noise XX handshake over TCP
// (Noise_XX_25519_ChaChaPoly_BLAKE2s, github.com/flynn/noise), encrypted framing with per-type
// size limits and deadlines, a listener with admission limits, and the wire codec of the p2p
// messages, those of compact block relay included (compact.go: minor 1, FeatureCompactBlocks;
// package compact builds and reconstructs them). Block, header and transaction payloads are opaque
// bytes here; the package imports nothing of the node. The byte-level specification, precise
// enough for an independent implementation, is docs/protocol.md.
//
// A node's identity is its X25519 static key; its ID is the 32-byte public key, written as 64
// lower-case hex digits. Noise authenticates that key directly, so there is no second key type
// and nothing is parsed before authentication except fixed-size handshake fields.
//
// # Usage
//
//	cfg := &noisep2p.Config{Key: key, Genesis: genesis, Hello: func() noisep2p.Hello { ... }}
//	ln, err := noisep2p.Listen(":7600", cfg, noisep2p.ListenerConfig{Admit: admit}, func(c *noisep2p.Conn) {
//		c.Start(handle, onClose) // or hand c to an actor that starts it
//	})
//	c, err := noisep2p.Dial(ctx, "10.0.0.2:7600", cfg, &expectedID)
//	c.Start(handle, onClose)
//	err = c.SendMsg(noisep2p.Inv{Items: items})
//
// # Handshake
//
// Client (initiator) and Server (responder) run the three XX messages on an established
// net.Conn, each sent as u16be length ‖ Noise message. The prologue is "actorchain-p2p/1" ‖ 0x00 ‖
// genesis hash, so a node of another chain or major version fails authentication at message 2
// (ErrHandshakeAuth, "different chain or version"). Message 1 must be exactly 32 bytes (the
// ephemeral key, no payload: it would travel in clear); messages 2 and 3 are capped at 1 KiB,
// checked before the body is read, and carry each side's Hello, decoded strictly. The initiator
// checks the responder's key (ErrSelf, then ErrPeerMismatch against the expected ID) and its hello
// after message 2 and before sending message 3, so a wrong peer never learns our identity; the
// responder applies the same checks after message 3. The whole handshake runs under one absolute
// deadline (HandshakeTimeout) that trickled bytes cannot extend; cancelling the context forces a
// past deadline and the call returns ctx.Err(). On any error the net.Conn is closed. Frame
// buffers are allocated only after authentication: a pending handshake holds a few KiB.
//
// Detecting duplicate connections is the caller's job (it owns the registry); KeepOutbound is
// the tie-break for two connections in opposite directions: keep the one initiated by the
// smaller ID.
//
// # Framing
//
// After the handshake each direction is a stream of frames, u16be n ‖ ChaChaPoly ciphertext of n
// bytes (17 ≤ n ≤ 65535, 16 of which are the tag), with the implicit Noise nonce counting frames.
// A message starts on a frame boundary: the plaintext of its first frame is u32be L ‖ u8 type ‖
// the first bytes of the payload (n ≥ 21), and continuation frames carry the rest, each at least
// one byte and never past L. L is checked against the type's limit as soon as the first frame
// decrypts (ErrMsgTooLarge), and the receive buffer grows as the frames arrive (starting at
// 64 KiB, growing 4x) instead of trusting L. Any authentication failure (tampered, replayed,
// reordered or injected frame) is fatal: ErrDecrypt. Reaching the Noise nonce limit is fatal too
// (ErrNonceExhausted); there is no in-session rekey.
//
// # Concurrency
//
// A Conn returned by a handshake is not started; Start runs exactly two goroutines. The reader
// owns the decrypting cipher state, applies the deadlines, answers pings, records pong round
// trips (RTT), consumes Disconnect (the connection then fails with a *DisconnectError) and calls
// handle for every other message, in order, with a payload it owns. The writer owns the
// encrypting cipher state and drains a bounded send queue; Send never blocks, and a full queue
// drops the peer (ErrSlowPeer). Every failure goes through one place: the first reason is kept
// (Err), Done is closed and the socket closed, which unblocks both goroutines; the last goroutine
// to exit calls onClose once, after the last handle call, with that reason (nil after Close or
// Disconnect). Close is idempotent, safe before Start, and joins both goroutines; it must not be
// called from handle or onClose. Disconnect sends a reason first and waits up to
// DisconnectTimeout for the peer to close.
//
// A Listener runs one accept loop, which does no I/O, plus one goroutine per admitted handshake.
// Close stops accepting, cancels the handshakes in flight and joins every goroutine; connections
// already handed to the accepted callback belong to the callee.
//
// The codec (Encode, Decode*, Validate) is pure: no goroutines, no clocks.
//
// # Limits
//
// Per connection: the handshake must complete within HandshakeTimeout (10s); a message must start
// within IdleTimeout (90s) of the previous one (peers ping every PingInterval, 30s); once its
// first frame has arrived, the rest must arrive within MessageTimeout + L/MinRate (30s + L at
// 64 KiB/s); each message must be written within WriteTimeout + L/MinRate (20s + L at 64 KiB/s);
// at most SendQueue (64) messages wait to be sent. Payload limits by type (Config.MaxMessage,
// absolute cap 8 MiB): Block 8 MiB, Tx 64 KiB, Addr 296,002 B (1000 entries), Inv, GetData and
// NotFound 1,650,004 B (50,000 items), every other type, including unknown ones, 64 KiB. The
// decoders enforce the per-message counts (MaxAddrPeers, MaxInvItems, MaxLocator,
// MaxDisconnectReason, MaxHelloSize) before allocating, and reject anything that is not the exact
// canonical encoding of a valid message.
//
// Per listener: at most MaxHandshakes (32) handshakes in flight, at most MaxPendingPerIP (2) per
// IP, and, when ThrottlePerIP is set (DefaultThrottlePerIP, 1s, in production), at most one
// attempt per IP per ThrottlePerIP; a connection over a limit is closed at once, and loopback can
// be exempted (ExemptLoopback). Admit is the hook for inbound caps, bans
// and duplicates after authentication; a refused peer is sent a Disconnect with the reason.
package noisep2p
