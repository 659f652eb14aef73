package noisep2p

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Defaults of ListenerConfig.
const (
	DefaultMaxHandshakes   = 32
	DefaultMaxPendingPerIP = 2
	// DefaultThrottlePerIP is the throttle a production node should set (the zero value disables it).
	DefaultThrottlePerIP = time.Second
)

// Reasons counted in ListenerStats.Rejected.
const (
	RejectBusy      = "busy"      // MaxHandshakes handshakes already in flight
	RejectPerIP     = "per_ip"    // MaxPendingPerIP handshakes from this IP already in flight
	RejectThrottle  = "throttle"  // an attempt from this IP less than ThrottlePerIP ago
	RejectHandshake = "handshake" // the handshake failed
	RejectAdmit     = "admit"     // ListenerConfig.Admit refused the peer
	RejectClosed    = "closed"    // the listener closed during the handshake
)

// throttlePrune is the size of the per-IP attempt table above which stale entries are dropped.
const throttlePrune = 1024

// ListenerConfig holds the limits of a Listener. A zero MaxHandshakes or MaxPendingPerIP means
// its default; a zero ThrottlePerIP means no throttle (production nodes set DefaultThrottlePerIP).
type ListenerConfig struct {
	MaxHandshakes   int           // concurrent handshakes (default 32); over it new conns are closed at once
	MaxPendingPerIP int           // concurrent handshakes per IP (default 2)
	ThrottlePerIP   time.Duration // minimum time between handshake attempts per IP (0: none; DefaultThrottlePerIP is 1s)
	ExemptLoopback  bool          // loopback addresses ignore the per-IP limits (tests, devnets)
	// Admit, when not nil, is called after a successful handshake (inbound caps, bans, duplicates);
	// an error refuses the peer: it is sent a Disconnect with the error text and closed. It runs on
	// the handshake's goroutine, which Listener.Close waits for: it must not wait on anything that
	// may be calling Close (ask an actor with a timeout, never without).
	Admit func(id ID, addr net.Addr) error
	// Rejected, when not nil, is told of every refused or failed inbound connection (for logs).
	// It is called from the listener's goroutines and must not block.
	Rejected func(addr net.Addr, reason string, err error)
}

// ListenerStats is a snapshot of a Listener's counters.
type ListenerStats struct {
	Accepted     uint64            // connections handed to the accepted callback
	Rejected     map[string]uint64 // refused or failed connections by reason (Reject* constants)
	InFlight     int               // handshakes running now
	PeakInFlight int               // most handshakes ever running at once
}

// Listener accepts TCP connections and runs the responder handshake on each, within limits. The
// accept loop does no I/O of its own: each admitted connection gets a goroutine for its handshake,
// and connections over a limit are closed at once.
type Listener struct {
	ln       net.Listener
	s        *settings
	lc       ListenerConfig
	accepted func(*Conn)
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup // the accept loop and every handshake goroutine
	once     sync.Once

	mu       sync.Mutex // guards everything below
	inFlight int
	peak     int
	perIP    map[string]int
	lastTry  map[string]time.Time
	acceptN  uint64
	rejected map[string]uint64
}

// Listen listens on addr (HOST:PORT, port 0 picks one) and hands every authenticated and
// admitted connection, not started, to accepted, which owns it from then on. accepted is called
// from a handshake goroutine; it must not block for long and must not call Close.
func Listen(addr string, cfg *Config, lc ListenerConfig, accepted func(*Conn)) (*Listener, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	if accepted == nil {
		return nil, errors.New("noisep2p: listen: accepted callback is nil")
	}
	if lc.MaxHandshakes < 0 || lc.MaxPendingPerIP < 0 || lc.ThrottlePerIP < 0 {
		return nil, fmt.Errorf("noisep2p: listen: limits must be >= 0, got MaxHandshakes=%d MaxPendingPerIP=%d ThrottlePerIP=%v",
			lc.MaxHandshakes, lc.MaxPendingPerIP, lc.ThrottlePerIP)
	}
	if lc.MaxHandshakes == 0 {
		lc.MaxHandshakes = DefaultMaxHandshakes
	}
	if lc.MaxPendingPerIP == 0 {
		lc.MaxPendingPerIP = DefaultMaxPendingPerIP
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("noisep2p: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{
		ln: ln, s: s, lc: lc, accepted: accepted, ctx: ctx, cancel: cancel,
		perIP: map[string]int{}, lastTry: map[string]time.Time{}, rejected: map[string]uint64{},
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l, nil
}

// Addr returns the listening address (with the chosen port).
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Close stops accepting, cancels the handshakes in flight and waits for every goroutine the
// Listener started. Connections already given to accepted are not touched. Idempotent.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		l.cancel()
		err = l.ln.Close()
	})
	l.wg.Wait()
	return err
}

// Stats returns a snapshot of the counters.
func (l *Listener) Stats() ListenerStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := ListenerStats{Accepted: l.acceptN, InFlight: l.inFlight, PeakInFlight: l.peak, Rejected: make(map[string]uint64, len(l.rejected))}
	for k, v := range l.rejected {
		st.Rejected[k] = v
	}
	return st
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if l.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off instead of spinning.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			t := time.NewTimer(backoff)
			select {
			case <-l.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		backoff = 0
		ip := hostOf(nc.RemoteAddr())
		if reason, err := l.admit(ip); err != nil {
			_ = nc.Close()
			l.reject(nc.RemoteAddr(), reason, err)
			continue
		}
		l.wg.Add(1)
		go l.handshake(nc, ip)
	}
}

// admit reserves a handshake slot for ip, or says why not. No I/O.
func (l *Listener) admit(ip string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight >= l.lc.MaxHandshakes {
		return RejectBusy, fmt.Errorf("%d handshakes in flight", l.inFlight)
	}
	exempt := l.lc.ExemptLoopback && isLoopback(ip)
	if !exempt {
		if l.perIP[ip] >= l.lc.MaxPendingPerIP {
			return RejectPerIP, fmt.Errorf("%d handshakes in flight from %s", l.perIP[ip], ip)
		}
		if t := l.lc.ThrottlePerIP; t > 0 {
			now := time.Now()
			if last, ok := l.lastTry[ip]; ok && now.Sub(last) < t {
				return RejectThrottle, fmt.Errorf("attempt from %s within %v of the last", ip, t)
			}
			if len(l.lastTry) >= throttlePrune {
				for k, v := range l.lastTry {
					if now.Sub(v) >= t {
						delete(l.lastTry, k)
					}
				}
			}
			l.lastTry[ip] = now
		}
	}
	l.inFlight++
	l.peak = max(l.peak, l.inFlight)
	l.perIP[ip]++
	return "", nil
}

func (l *Listener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight--
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

func (l *Listener) reject(addr net.Addr, reason string, err error) {
	l.mu.Lock()
	l.rejected[reason]++
	l.mu.Unlock()
	if l.lc.Rejected != nil {
		l.lc.Rejected(addr, reason, err)
	}
}

func (l *Listener) handshake(nc net.Conn, ip string) {
	defer l.wg.Done()
	addr := nc.RemoteAddr()
	c, err := handshake(l.ctx, nc, l.s, false, nil, nil)
	l.release(ip)
	if err != nil {
		reason := RejectHandshake
		if l.ctx.Err() != nil {
			reason = RejectClosed
		}
		l.reject(addr, reason, err)
		return
	}
	if l.lc.Admit != nil {
		if err := l.lc.Admit(c.RemoteID(), addr); err != nil {
			c.mu.Lock()
			c.localClose.Store(true)
			c.disconnectLocked(l.ctx, err.Error())
			c.mu.Unlock()
			_ = c.Close()
			l.reject(addr, RejectAdmit, err)
			return
		}
	}
	if l.ctx.Err() != nil {
		_ = c.Close()
		l.reject(addr, RejectClosed, l.ctx.Err())
		return
	}
	l.mu.Lock()
	l.acceptN++
	l.mu.Unlock()
	l.accepted(c)
}

func hostOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

func isLoopback(ip string) bool {
	p := net.ParseIP(ip)
	return p != nil && p.IsLoopback()
}
