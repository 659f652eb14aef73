package noisep2p

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/flynn/noise"
)

// cipherSuite is Noise_XX_25519_ChaChaPoly_BLAKE2s (CONTRACT §7).
var cipherSuite = noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashBLAKE2s)

// Handshake message sizes (docs/protocol.md, "Handshake").
const (
	m1Size          = 32                // e, empty payload
	maxHandshakeMsg = 1024              // cap of messages 2 and 3
	minM2Size       = 32 + 32 + 16 + 16 // e, encrypted s, payload tag
	minM3Size       = 32 + 16 + 16      // encrypted s, payload tag
)

// aLongTimeAgo is a deadline in the past: setting it makes blocked reads and writes return at once.
var aLongTimeAgo = time.Unix(1, 0)

// Client runs the initiator side of the handshake on an established connection. When expect is
// not nil, the responder's static key must equal it: the check (and the self check) happens after
// message 2, before message 3 reveals our identity. The whole handshake has one absolute deadline,
// HandshakeTimeout, which trickled bytes cannot extend; when ctx is cancelled or its deadline
// passes first, the handshake is aborted and Client returns ctx.Err(). On error c is closed. The
// returned Conn is not started.
func Client(ctx context.Context, c net.Conn, cfg *Config, expect *ID) (*Conn, error) {
	s, err := cfg.settings()
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return handshake(ctx, c, s, true, expect, nil)
}

// Server runs the responder side of the handshake on an accepted connection; see Client for the
// deadline, cancellation and ownership rules. The returned Conn is not started.
func Server(ctx context.Context, c net.Conn, cfg *Config) (*Conn, error) {
	s, err := cfg.settings()
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return handshake(ctx, c, s, false, nil, nil)
}

// Dial connects to addr over TCP (within DialTimeout, default 10s) and runs Client.
func Dial(ctx context.Context, addr string, cfg *Config, expect *ID) (*Conn, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: s.dialTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return handshake(ctx, c, s, true, expect, nil)
}

// handshake runs either side. payload, when not nil, replaces the encoded local hello (tests use
// it to send malformed hellos).
func handshake(ctx context.Context, c net.Conn, s *settings, initiator bool, expect *ID, payload []byte) (*Conn, error) {
	if err := ctx.Err(); err != nil {
		_ = c.Close()
		return nil, err
	}
	// The socket deadline is the absolute handshake timeout; ctx (cancellation or its own
	// deadline) is enforced by the AfterFunc, so that its expiry is reported as ctx.Err().
	if err := c.SetDeadline(time.Now().Add(s.handshakeTimeout)); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(aLongTimeAgo) })
	conn, err := func() (*Conn, error) {
		if payload == nil {
			h := s.hello()
			h.Genesis = s.genesis
			if err := h.Validate(); err != nil {
				return nil, fmt.Errorf("local hello: %w", err)
			}
			payload = h.Encode()
		}
		if initiator {
			return runInitiator(c, s, expect, payload)
		}
		return runResponder(c, s, payload)
	}()
	if !stop() {
		// ctx ended while we ran (cancelling it starts the AfterFunc at once): its deadline trick
		// may have broken I/O, and ctx's error is the reason to report.
		_ = c.Close()
		return nil, ctx.Err()
	}
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("handshake with %s: %w", c.RemoteAddr(), err)
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	return conn, nil
}

func newHandshakeState(s *settings, initiator bool) (*noise.HandshakeState, error) {
	return noise.NewHandshakeState(noise.Config{
		CipherSuite:   cipherSuite,
		Pattern:       noise.HandshakeXX,
		Initiator:     initiator,
		Prologue:      s.prologue,
		StaticKeypair: noise.DHKey{Private: s.priv, Public: s.pub},
	})
}

// writeHandshakeMsg sends u16be len ‖ msg in one write.
func writeHandshakeMsg(w io.Writer, msg []byte) error {
	b := make([]byte, 2, 2+len(msg))
	binary.BigEndian.PutUint16(b, uint16(len(msg)))
	_, err := w.Write(append(b, msg...))
	return err
}

// readHandshakeMsg reads u16be len ‖ msg, checking minLen <= len <= maxLen before reading the body.
func readHandshakeMsg(r io.Reader, minLen, maxLen int) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if n < minLen || n > maxLen {
		if minLen == maxLen {
			return nil, fmt.Errorf("%w: length %d, want %d", ErrBadFrame, n, minLen)
		}
		return nil, fmt.Errorf("%w: length %d, want %d..%d", ErrBadFrame, n, minLen, maxLen)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// checkRemote applies the identity and hello checks to a just-authenticated peer.
func checkRemote(s *settings, remote ID, expect *ID, payload []byte) (Hello, error) {
	if remote == s.self {
		return Hello{}, ErrSelf
	}
	if expect != nil && remote != *expect {
		return Hello{}, fmt.Errorf("%w: want %s, got %s", ErrPeerMismatch, expect.Short(), remote.Short())
	}
	h, err := DecodeHello(payload)
	if err != nil {
		return Hello{}, err
	}
	if h.Genesis != s.genesis {
		return Hello{}, fmt.Errorf("%w: %x", ErrWrongChain, h.Genesis[:8])
	}
	return h, nil
}

func runInitiator(c net.Conn, s *settings, expect *ID, payload []byte) (*Conn, error) {
	hs, err := newHandshakeState(s, true)
	if err != nil {
		return nil, err
	}
	m1, _, _, err := hs.WriteMessage(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("message 1: %w", err)
	}
	if err := writeHandshakeMsg(c, m1); err != nil {
		return nil, fmt.Errorf("write message 1: %w", err)
	}
	m2, err := readHandshakeMsg(c, minM2Size, maxHandshakeMsg)
	if err != nil {
		return nil, fmt.Errorf("read message 2: %w", err)
	}
	p2, _, _, err := hs.ReadMessage(nil, m2)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHandshakeAuth, err)
	}
	var remote ID
	copy(remote[:], hs.PeerStatic())
	hello, err := checkRemote(s, remote, expect, p2)
	if err != nil {
		return nil, fmt.Errorf("message 2: %w", err)
	}
	m3, cs1, cs2, err := hs.WriteMessage(nil, payload)
	if err != nil {
		return nil, fmt.Errorf("message 3: %w", err)
	}
	if err := writeHandshakeMsg(c, m3); err != nil {
		return nil, fmt.Errorf("write message 3: %w", err)
	}
	return newConn(c, s, remote, hello, true, cs1, cs2), nil
}

func runResponder(c net.Conn, s *settings, payload []byte) (*Conn, error) {
	hs, err := newHandshakeState(s, false)
	if err != nil {
		return nil, err
	}
	m1, err := readHandshakeMsg(c, m1Size, m1Size)
	if err != nil {
		return nil, fmt.Errorf("read message 1: %w", err)
	}
	if _, _, _, err := hs.ReadMessage(nil, m1); err != nil {
		return nil, fmt.Errorf("message 1: %w: %v", ErrBadHandshake, err)
	}
	m2, _, _, err := hs.WriteMessage(nil, payload)
	if err != nil {
		// A low-order ephemeral key from the initiator fails the first DH here.
		return nil, fmt.Errorf("message 2: %w: %v", ErrBadHandshake, err)
	}
	if err := writeHandshakeMsg(c, m2); err != nil {
		return nil, fmt.Errorf("write message 2: %w", err)
	}
	m3, err := readHandshakeMsg(c, minM3Size, maxHandshakeMsg)
	if err != nil {
		return nil, fmt.Errorf("read message 3: %w", err)
	}
	p3, cs1, cs2, err := hs.ReadMessage(nil, m3)
	if err != nil {
		return nil, fmt.Errorf("message 3: %w: noise authentication failed: %v", ErrBadHandshake, err)
	}
	var remote ID
	copy(remote[:], hs.PeerStatic())
	hello, err := checkRemote(s, remote, nil, p3)
	if err != nil {
		return nil, fmt.Errorf("message 3: %w", err)
	}
	return newConn(c, s, remote, hello, false, cs2, cs1), nil
}
