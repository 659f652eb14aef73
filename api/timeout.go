package api

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// inlineTimeout is http.TimeoutHandler without a goroutine per request: next runs on the
// connection's own goroutine with a context that ends after d, into a buffer; if it has not
// returned by then, the client gets 503 with the busy body at once (written and flushed from the
// deadline's callback, with "Connection: close", since the connection stays busy until next
// returns) and whatever next writes later is dropped (http.ErrHandlerTimeout). Otherwise its
// buffered answer is written as it is.
//
// Why not http.TimeoutHandler: its goroutine per request starts with a small stack that every
// POST /v1/txs grew again (JSON decoding, signature verification), about 8% of the node's CPU
// during ingest, plus the goroutine's start and the select; a connection's goroutine keeps its
// grown stack from one request to the next (docs/performance.md, "What a user sees").
type inlineTimeout struct {
	next http.Handler
	d    time.Duration
	busy []byte
}

func (t inlineTimeout) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), t.d)
	defer cancel()
	tw := &timeoutWriter{w: w, h: make(http.Header), ctx: ctx}
	stop := context.AfterFunc(ctx, func() { tw.timeout(ctx.Err(), t.busy) })
	finished := false
	defer func() {
		stop()
		if !finished { // a panic on its way to net/http (http.ErrAbortHandler): write nothing more
			tw.mu.Lock()
			tw.settled = true
			tw.mu.Unlock()
			return
		}
		tw.finish(t.busy)
	}()
	t.next.ServeHTTP(tw, r.WithContext(ctx))
	finished = true
}

// timeoutWriter buffers a handler's answer; mu orders the handler's writes, the deadline's 503
// and the final copy, whichever comes first settling the answer.
type timeoutWriter struct {
	w   http.ResponseWriter
	h   http.Header     // the handler's headers, copied to w by finish
	ctx context.Context // the request's: once it ended, the answer is the 503

	mu       sync.Mutex
	buf      bytes.Buffer // guarded by mu
	code     int          // guarded by mu; 0 until WriteHeader
	settled  bool         // guarded by mu: the answer was written to w (503 or the handler's)
	timedOut bool         // guarded by mu
}

func (tw *timeoutWriter) Header() http.Header { return tw.h }

func (tw *timeoutWriter) Write(p []byte) (int, error) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut || tw.ctx.Err() != nil {
		return 0, http.ErrHandlerTimeout
	}
	if tw.code == 0 {
		tw.code = http.StatusOK
	}
	return tw.buf.Write(p)
}

func (tw *timeoutWriter) WriteHeader(code int) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut || tw.code != 0 || tw.ctx.Err() != nil {
		return
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code))
	}
	tw.code = code
}

// timeout answers 503 unless the handler's answer was written already. err is the context's
// error: the deadline (busy) or the client going away.
func (tw *timeoutWriter) timeout(err error, busy []byte) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.timeoutLocked(err, busy)
}

func (tw *timeoutWriter) timeoutLocked(err error, busy []byte) {
	if tw.settled {
		return
	}
	tw.settled, tw.timedOut = true, true
	h := tw.w.Header()
	h.Set("Connection", "close")
	if err == context.DeadlineExceeded {
		h.Set("Content-Length", strconv.Itoa(len(busy)))
		tw.w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = tw.w.Write(busy)
	} else {
		h.Set("Content-Length", "0")
		tw.w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = http.NewResponseController(tw.w).Flush()
}

// finish writes the handler's buffered answer, unless the deadline answered first or the
// request's context ended meanwhile (then the answer is the 503, as the deadline's callback,
// which may not have run yet, would have written it).
func (tw *timeoutWriter) finish(busy []byte) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if err := tw.ctx.Err(); err != nil {
		tw.timeoutLocked(err, busy)
		return
	}
	if tw.settled {
		return
	}
	tw.settled = true
	dst := tw.w.Header()
	for k, vv := range tw.h {
		dst[k] = vv
	}
	if tw.code == 0 {
		tw.code = http.StatusOK
	}
	tw.w.WriteHeader(tw.code)
	_, _ = tw.w.Write(tw.buf.Bytes())
}
