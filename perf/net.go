package perf

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// proxy forwards loopback TCP connections to target and counts the bytes it carries in both
// directions: what a node's Noise connections put on the wire, without touching the node.
type proxy struct {
	ln     net.Listener
	target string
	bytes  atomic.Int64
	wg     sync.WaitGroup // the accept loop and every copy goroutine

	mu     sync.Mutex
	conns  []net.Conn // every accepted and dialled connection (guarded by mu)
	closed bool       // guarded by mu
}

// startProxy listens on a free loopback port and forwards to target until Close.
func startProxy(target string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr is the proxy's listening address.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

// Bytes is the number of bytes carried so far, both directions.
func (p *proxy) Bytes() int64 { return p.bytes.Load() }

func (p *proxy) accept() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		if !p.track(in, out) {
			return
		}
		p.wg.Go(func() { p.pipe(out, in) })
		p.wg.Go(func() { p.pipe(in, out) })
	}
}

// track records the pair for Close; false (and both closed) when the proxy is closing.
func (p *proxy) track(a, b net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_, _ = a.Close(), b.Close()
		return false
	}
	p.conns = append(p.conns, a, b)
	return true
}

// pipe copies src to dst, counting, and closes both when either side ends.
func (p *proxy) pipe(dst, src net.Conn) {
	_, _ = io.Copy(countingWriter{dst, &p.bytes}, src)
	_, _ = dst.Close(), src.Close()
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// Close stops accepting, closes every connection and joins the proxy's goroutines.
func (p *proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range conns {
		_ = c.Close()
	}
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
