// Package logthrottle rate-limits repeated log records (CONTRACT §11): a slog.Handler wrapper
// that lets through at most one Warn or Error record a second of each kind, a kind being the
// record's level, message and "actor" attribute, and its "peer_id" attribute when it has one
// (what one peer did is not what another did: each ban of a misbehaving peer is logged, as the
// records of the per-connection actors peers/<id> are). The first record of a kind passes at once; the
// records of that kind in the following second are dropped and counted; the next one to pass
// carries the count as the attribute "repeated" (how many records of its kind were dropped since
// the previous one that passed), so every record written stands for itself and "repeated" more.
// Flush writes the records still pending, so that none is lost when the node stops. Records below the threshold level (Info, Debug) always pass.
//
// It starts no goroutine and owns no timer: the time of each decision is the wrapper's clock
// (Options.Clock), so tests drive it with a fake one.
package logthrottle

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultInterval = time.Second
	DefaultMaxKinds = 4096
)

// Options configure New. The zero value is the contract's: Warn and above, one a second.
type Options struct {
	// Interval is the least time between two records of one kind. 0 means DefaultInterval.
	Interval time.Duration
	// Level is the lowest level throttled; lower records always pass. 0 (Info) is taken as
	// slog.LevelWarn, since Info records are never throttled by the contract; set it to
	// slog.LevelInfo+1 or above for anything else.
	Level slog.Level
	// Clock is the time source. nil means time.Now.
	Clock func() time.Time
	// MaxKinds bounds the kinds remembered; past it, kinds idle for an interval are forgotten
	// and, if none is, a new kind is not throttled. 0 means DefaultMaxKinds.
	MaxKinds int
}

// RepeatedKey is the attribute that carries the number of dropped records.
const RepeatedKey = "repeated"

// Handler is the throttling wrapper. It is safe for concurrent use; handlers derived with
// WithAttrs and WithGroup share the wrapper's state.
type Handler struct {
	next  slog.Handler
	st    *state
	actor string // an "actor" attribute given by WithAttrs
}

type kind struct {
	level slog.Level
	msg   string
	actor string
	peer  string
}

// entry is one kind's record.
type entry struct {
	passed  time.Time    // when its latest record passed
	dropped int          // records dropped since
	last    slog.Record  // the latest dropped record (for Flush)
	via     slog.Handler // the handler it came through
}

type state struct {
	mu       sync.Mutex
	interval time.Duration
	level    slog.Level
	clock    func() time.Time
	max      int
	kinds    map[kind]*entry
}

// New wraps next.
func New(next slog.Handler, o Options) *Handler {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Level <= slog.LevelInfo {
		o.Level = slog.LevelWarn
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.MaxKinds <= 0 {
		o.MaxKinds = DefaultMaxKinds
	}
	return &Handler{next: next, st: &state{interval: o.Interval, level: o.Level, clock: o.Clock,
		max: o.MaxKinds, kinds: make(map[kind]*entry)}}
}

// Enabled is the wrapped handler's.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle passes r on, drops it, or passes it with its "repeated" count (see the package doc).
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.st.level {
		return h.next.Handle(ctx, r)
	}
	k := kind{level: r.Level, msg: r.Message, actor: h.actor}
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "actor":
			k.actor = a.Value.String()
		case "peer_id":
			k.peer = a.Value.String()
		}
		return true
	})
	pass, repeated := h.st.decide(k, r, h.next)
	if !pass {
		return nil
	}
	if repeated > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int(RepeatedKey, repeated))
	}
	return h.next.Handle(ctx, r)
}

// decide records r of kind k and tells whether it passes and with what count.
func (s *state) decide(k kind, r slog.Record, via slog.Handler) (pass bool, repeated int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	e := s.kinds[k]
	if e == nil {
		if len(s.kinds) >= s.max {
			s.forgetIdle(now)
			if len(s.kinds) >= s.max {
				return true, 0 // too many kinds to remember: let it through
			}
		}
		s.kinds[k] = &entry{passed: now}
		return true, 0
	}
	if now.Sub(e.passed) < s.interval {
		e.dropped++
		e.last, e.via = r.Clone(), via
		return false, 0
	}
	repeated = e.dropped
	e.passed, e.dropped, e.last, e.via = now, 0, slog.Record{}, nil
	return true, repeated
}

// forgetIdle drops the kinds with nothing pending whose last record passed an interval ago.
func (s *state) forgetIdle(now time.Time) {
	for k, e := range s.kinds {
		if e.dropped == 0 && now.Sub(e.passed) >= s.interval {
			delete(s.kinds, k)
		}
	}
}

// Flush writes, for every kind with dropped records, its latest dropped record with the count of
// those dropped before it, and forgets them: like every record written, it stands for itself and
// "repeated" more. Call it when the logging ends (the node stops).
func (h *Handler) Flush() {
	type out struct {
		r   slog.Record
		via slog.Handler
	}
	var pending []out
	h.st.mu.Lock()
	for _, e := range h.st.kinds {
		if e.dropped > 0 {
			// The latest dropped record itself, with the count of those dropped before it.
			r := e.last.Clone()
			if e.dropped > 1 {
				r.AddAttrs(slog.Int(RepeatedKey, e.dropped-1))
			}
			pending = append(pending, out{r, e.via})
			e.dropped, e.last, e.via = 0, slog.Record{}, nil
		}
	}
	h.st.mu.Unlock()
	for _, p := range pending {
		_ = p.via.Handle(context.Background(), p.r)
	}
}

// WithAttrs returns a handler that shares this one's state; an "actor" attribute becomes the
// default actor of its records' kinds.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := &Handler{next: h.next.WithAttrs(as), st: h.st, actor: h.actor}
	for _, a := range as {
		if a.Key == "actor" {
			c.actor = a.Value.String()
		}
	}
	return c
}

// WithGroup returns a handler that shares this one's state.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), st: h.st, actor: h.actor}
}
