package noisep2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flynn/noise"
)

// writeBufferSize is the writer's coalescing buffer; larger writes bypass it.
const writeBufferSize = 64 << 10

type outMsg struct {
	typ     uint8
	payload []byte
}

// Conn is an authenticated, encrypted connection returned by Client, Server, Dial or a Listener.
//
// After Start it runs exactly two goroutines: a reader, which owns the decrypting cipher state,
// enforces the idle and per-message deadlines and calls handle, and a writer, which owns the
// encrypting cipher state, drains the send queue and sends keepalive pings. Close stops and joins
// both. Every method is safe for concurrent use.
type Conn struct {
	nc       net.Conn
	s        *settings
	remote   ID
	hello    Hello
	outbound bool
	dec      *noise.CipherState // owned by the reader goroutine
	fw       frameWriter        // owned by the writer goroutine (or by Disconnect before Start)

	sendq chan outMsg
	pongq chan uint64   // nonce of the ping to answer (latest wins; cap 1)
	pingq chan struct{} // Ping requests (cap 1)
	discq chan string   // Disconnect requests (cap 1)
	done  chan struct{} // closed by fail

	failOnce   sync.Once
	err        error       // the reason; written once before done is closed
	localClose atomic.Bool // Close or Disconnect was called: the reason becomes ErrClosed

	mu      sync.Mutex // guards started and closing
	started bool
	closing bool
	wg      sync.WaitGroup // the reader and the writer
	live    atomic.Int32   // goroutines still running; the last one calls onClose
	onClose func(error)

	pingMu    sync.Mutex // guards pingSeq, pingNonce, pingSent
	pingSeq   uint64
	pingNonce uint64
	pingSent  time.Time
	rtt       atomic.Int64
	pongs     atomic.Uint64 // pongs matched (tests)
}

func newConn(nc net.Conn, s *settings, remote ID, hello Hello, outbound bool, enc, dec *noise.CipherState) *Conn {
	return &Conn{
		nc:       nc,
		s:        s,
		remote:   remote,
		hello:    hello,
		outbound: outbound,
		dec:      dec,
		fw:       frameWriter{enc: enc},
		sendq:    make(chan outMsg, s.sendQueue),
		pongq:    make(chan uint64, 1),
		pingq:    make(chan struct{}, 1),
		discq:    make(chan string, 1),
		done:     make(chan struct{}),
	}
}

// RemoteID returns the authenticated id of the peer.
func (c *Conn) RemoteID() ID { return c.remote }

// LocalID returns our own id.
func (c *Conn) LocalID() ID { return c.s.self }

// RemoteHello returns the hello the peer sent in the handshake.
func (c *Conn) RemoteHello() Hello { return c.hello }

// Outbound reports whether we initiated the connection.
func (c *Conn) Outbound() bool { return c.outbound }

// RemoteAddr returns the address of the socket's remote end.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// LocalAddr returns the address of the socket's local end.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RTT returns the round trip of the last answered keepalive ping, or 0 before the first pong.
func (c *Conn) RTT() time.Duration { return time.Duration(c.rtt.Load()) }

// Done returns a channel closed when the connection has failed or been closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns nil while the connection is open, then why it ended: ErrClosed after Close or
// Disconnect, otherwise the first failure (a *DisconnectError when the peer sent Disconnect).
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// fail ends the connection with err (the first call wins): it records the reason, closes done
// and the socket, which unblocks the reader and the writer.
func (c *Conn) fail(err error) {
	c.failOnce.Do(func() {
		if c.localClose.Load() {
			err = ErrClosed
		}
		c.err = err
		close(c.done)
		_ = c.nc.Close()
	})
}

// Start runs the reader and the writer. handle is called on the reader goroutine for every
// application message, in order, and owns payload; it must not block for long. Ping, Pong and
// Disconnect are handled inside the transport. onClose is called exactly once, with the reason
// (nil after Close or Disconnect), after the last call to handle has returned, from one of the two
// goroutines (or from Start itself if the Conn was already closed); it must not block and must not
// call Close. Start may be called once; later calls do nothing.
func (c *Conn) Start(handle func(typ uint8, payload []byte), onClose func(error)) {
	if handle == nil {
		handle = func(uint8, []byte) {}
	}
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return
	}
	c.started = true
	if c.closing {
		c.mu.Unlock()
		if onClose != nil {
			onClose(nil)
		}
		return
	}
	c.onClose = onClose
	c.live.Store(2)
	c.wg.Add(2)
	go c.readLoop(handle)
	go c.writeLoop()
	c.mu.Unlock()
}

// exit is deferred by both goroutines: the last one out reports the reason.
func (c *Conn) exit() {
	if c.live.Add(-1) == 0 && c.onClose != nil {
		reason := c.err
		if reason == ErrClosed {
			reason = nil
		}
		c.onClose(reason)
	}
	c.wg.Done()
}

// Send queues a message without blocking. The payload is not copied: the caller must not modify
// it afterwards. A payload over the type's limit returns ErrMsgTooLarge (the connection stays up);
// ping and pong return ErrReservedType. When the queue is full the connection fails with
// ErrSlowPeer, which Send returns. After the connection ended Send returns Err().
func (c *Conn) Send(typ uint8, payload []byte) error {
	if typ == MsgPing || typ == MsgPong {
		return fmt.Errorf("%w: %s", ErrReservedType, MsgName(typ))
	}
	if l := c.s.limits[typ]; uint64(len(payload)) > uint64(l) {
		return fmt.Errorf("%w: %s of %d bytes, limit %d", ErrMsgTooLarge, MsgName(typ), len(payload), l)
	}
	select {
	case <-c.done:
		return c.Err()
	default:
	}
	select {
	case c.sendq <- outMsg{typ, payload}:
		return nil
	default:
		c.fail(fmt.Errorf("%w: %d messages queued for %s", ErrSlowPeer, cap(c.sendq), c.remote.Short()))
		return c.Err()
	}
}

// SendMsg is Send(m.Type(), m.Encode()).
func (c *Conn) SendMsg(m Message) error { return c.Send(m.Type(), m.Encode()) }

// Ping asks the writer to send a keepalive ping now (RTT is updated when the pong arrives). It
// does not block; a ping already pending absorbs it.
func (c *Conn) Ping() {
	select {
	case c.pingq <- struct{}{}:
	default:
	}
}

// Close closes the socket and waits for the reader and the writer to exit. It is idempotent,
// safe before Start and from any goroutine except inside handle and onClose. Messages still
// queued are dropped.
func (c *Conn) Close() error {
	c.localClose.Store(true)
	c.fail(ErrClosed)
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.wg.Wait()
	return nil
}

// Disconnect sends a Disconnect message with reason (cut to 256 bytes), gives the peer up to
// DisconnectTimeout to read it and close, then closes like Close. Messages still queued are
// dropped. The peer's connection fails with a *DisconnectError carrying the reason.
func (c *Conn) Disconnect(reason string) error { return c.disconnect(nil, reason) }

// DisconnectAfter sends m, then disconnects with reason like Disconnect, on a Conn that was never
// started (whose cipher state is still ours). A node that refuses a peer for want of slots hands
// it some addresses this way before it goes, so that a newcomer whose only way in is a full seed
// still learns where else to connect. On a started Conn it is Disconnect: m is not sent (queued
// messages are dropped by a disconnect).
func (c *Conn) DisconnectAfter(m Message, reason string) error { return c.disconnect(m, reason) }

func (c *Conn) disconnect(first Message, reason string) error {
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return c.Close()
	default:
	}
	c.localClose.Store(true)
	if c.closing {
		c.mu.Unlock()
		return c.Close()
	}
	if !c.started {
		// No writer: we own the cipher state.
		if first != nil {
			_ = c.nc.SetWriteDeadline(time.Now().Add(DisconnectTimeout))
			if err := c.fw.writeMessage(c.nc, first.Type(), first.Encode()); err != nil {
				c.mu.Unlock()
				return c.Close()
			}
		}
		c.disconnectLocked(context.Background(), reason)
		c.mu.Unlock()
		return c.Close()
	}
	select {
	case c.discq <- reason:
	default:
	}
	c.mu.Unlock()
	t := time.NewTimer(DisconnectTimeout)
	select {
	case <-c.done:
	case <-t.C:
	}
	t.Stop()
	return c.Close()
}

// disconnectLocked writes a Disconnect on a Conn that was never started, half-closes, and reads
// until the peer closes (at most DisconnectTimeout, or until ctx ends) so that our close does not
// reset the connection before the peer has read the reason. c.mu must be held.
func (c *Conn) disconnectLocked(ctx context.Context, reason string) {
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(aLongTimeAgo) })
	defer stop()
	_ = c.nc.SetDeadline(time.Now().Add(DisconnectTimeout))
	if err := c.fw.writeMessage(c.nc, MsgDisconnect, Disconnect{Reason: reason}.Encode()); err != nil {
		return
	}
	closeWrite(c.nc)
	_, _ = io.Copy(io.Discard, io.LimitReader(c.nc, readBufferSize))
}

func closeWrite(nc net.Conn) {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

func (c *Conn) readLoop(handle func(uint8, []byte)) {
	defer c.exit()
	fr := newFrameReader(c.nc, c.dec)
	limit := func(t uint8) uint32 { return c.s.limits[t] }
	var midMessage bool
	started := func(l uint32) {
		midMessage = true
		_ = c.nc.SetReadDeadline(time.Now().Add(c.s.budget(c.s.messageTimeout, int(l))))
	}
	for {
		midMessage = false
		_ = c.nc.SetReadDeadline(time.Now().Add(c.s.idleTimeout))
		typ, payload, err := fr.readMessage(limit, started)
		if err != nil {
			c.fail(c.readErr(err, midMessage))
			return
		}
		c.s.traffic.received(typ, len(payload))
		switch typ {
		case MsgPing:
			p, err := DecodePing(payload)
			if err != nil {
				c.fail(err)
				return
			}
			select {
			case c.pongq <- p.Nonce:
			default: // a pong is pending already; this ping goes unanswered
			}
		case MsgPong:
			p, err := DecodePong(payload)
			if err != nil {
				c.fail(err)
				return
			}
			c.pingMu.Lock()
			if p.Nonce == c.pingNonce && !c.pingSent.IsZero() {
				c.rtt.Store(int64(time.Since(c.pingSent)))
				c.pingSent = time.Time{}
				c.pongs.Add(1)
			}
			c.pingMu.Unlock()
		case MsgDisconnect:
			d, err := DecodeDisconnect(payload)
			if err != nil {
				c.fail(err)
				return
			}
			c.fail(&DisconnectError{Reason: d.Reason})
			return
		default:
			handle(typ, payload)
		}
		select {
		case <-c.done:
			return
		default:
		}
	}
}

func (c *Conn) readErr(err error, midMessage bool) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) && midMessage:
		return fmt.Errorf("read: %w: %w", ErrMessageTimeout, err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("read: %w after %v: %w", ErrIdleTimeout, c.s.idleTimeout, err)
	}
	return fmt.Errorf("read: %w", err)
}

func (c *Conn) writeLoop() {
	defer c.exit()
	bw := bufio.NewWriterSize(c.nc, writeBufferSize)
	write := func(typ uint8, payload []byte) error {
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.s.budget(c.s.writeTimeout, len(payload))))
		if err := c.fw.writeMessage(bw, typ, payload); err != nil {
			return err
		}
		c.s.traffic.sent(typ, len(payload))
		if len(c.sendq) == 0 && len(c.pongq) == 0 {
			return bw.Flush()
		}
		return nil
	}
	ping := func() error {
		c.pingMu.Lock()
		c.pingSeq++
		n := c.pingSeq
		c.pingNonce, c.pingSent = n, time.Now()
		c.pingMu.Unlock()
		return write(MsgPing, Ping{Nonce: n}.Encode())
	}
	ticker := time.NewTicker(c.s.pingInterval)
	defer ticker.Stop()
	err := ping() // an early RTT sample, and proof of life
	for err == nil {
		select {
		case <-c.done:
			return
		case m := <-c.sendq:
			err = write(m.typ, m.payload)
		case n := <-c.pongq:
			err = write(MsgPong, Pong{Nonce: n}.Encode())
		case <-ticker.C:
			err = ping()
		case <-c.pingq:
			err = ping()
		case reason := <-c.discq:
			_ = c.nc.SetWriteDeadline(time.Now().Add(DisconnectTimeout))
			d := Disconnect{Reason: reason}.Encode()
			if c.fw.writeMessage(bw, MsgDisconnect, d) == nil && bw.Flush() == nil {
				c.s.traffic.sent(MsgDisconnect, len(d))
				closeWrite(c.nc)
			}
			<-c.done // the reader sees the peer close (or Disconnect times out and closes)
			return
		}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("%w: %w", ErrWriteTimeout, err)
	}
	c.fail(fmt.Errorf("write: %w", err))
}
