package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"net/url"
	"runtime/debug"
	rpprof "runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/actorchain/actorchain/dashboard"
	"github.com/actorchain/actorchain/errcode"
)

// DefaultTimeout is how long a request may take before the node answers 503 busy.
const DefaultTimeout = 5 * time.Second

// DefaultMaxBodyBytes is the largest request body accepted (1 MiB); larger bodies get 413.
const DefaultMaxBodyBytes = 1 << 20

// Options configure NewHandler. The zero value is usable.
type Options struct {
	// Logger receives one Debug record per request and an Error record per recovered panic or
	// unexpected backend error. nil discards.
	Logger *slog.Logger
	// Version is sent as the Server header ("actorchain/VERSION") and fills an empty version in
	// GET /v1/status.
	Version string
	// Pprof serves net/http/pprof under /debug/pprof/ (debug.pprof). Those endpoints are not
	// bound by Timeout, since profiles run for as long as asked.
	Pprof bool
	// Timeout bounds every request: the backend gets a context with this deadline and the client
	// gets 503 busy when the handler has not answered by then. 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxBodyBytes bounds request bodies. 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// handler serves the API from a Backend, each endpoint through the role it needs. It holds no
// mutable state.
type handler struct {
	read    Reader
	submit  Submitter
	debug   Debugger
	copier  BackupBackend // nil: GET /v1/db/backup is 404
	log     *slog.Logger
	version string
	timeout time.Duration
	maxBody int64
}

// NewHandler returns the node's HTTP API (CONTRACT §3) served from b. Every answer is JSON
// except /metrics, /debug/pprof/ and GET / (the dashboard page); every error, including unknown paths (404) and wrong
// methods (405), is {"error", "code"}. Each request runs under opts.Timeout; a handler that has
// not answered by then is abandoned (its context is cancelled) and the client gets 503 busy.
// Panics in handlers are recovered into 500 internal. The handler is safe for concurrent use
// and starts no goroutine that outlives a request by more than the backend call it waits on.
//
// The answers net/http writes before any handler runs (431 for oversized headers, 400 for a
// request that is not HTTP, ...) are JSON only on a listener wrapped by Listener, as the node's
// api actor wraps its own.
//
// Routing: the route table (routes), one line per endpoint, is a ServeMux of method patterns; the
// router (router.go) sends a request to its route or answers the 404 or 405 itself.
func NewHandler(b Backend, opts Options) http.Handler {
	h := newHandler(b, opts)
	busy := errorJSON(errcode.Busy, fmt.Sprintf("the node did not answer within %s; retry later", h.timeout))
	timed := http.TimeoutHandler(h.recoverPanics(router{mux: h.routes(b), debug: b.FaultInjection}), h.timeout, string(busy))
	var prof http.Handler
	if opts.Pprof {
		prof = h.recoverPanics(pprofMux())
	}
	backup := h.recoverPanics(http.HandlerFunc(h.backup))
	submit := h.recoverPanics(h.inline(busy, h.submitTx))

	return h.logRequests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.version != "" {
			w.Header().Set("Server", "actorchain/"+h.version)
		}
		if prof != nil && isPprofPath(r.URL) {
			prof.ServeHTTP(w, r)
			return
		}
		if isBackup(r) { // streams for as long as the copy takes: outside the timeout (backup.go)
			backup.ServeHTTP(w, r)
			return
		}
		if isSubmit(r) { // the hot path: on the connection's goroutine, under the same deadline
			submit.ServeHTTP(w, r)
			return
		}
		// NB: http.TimeoutHandler writes its 503 body without a Content-Type; set it here, on
		// the real writer. A handler that answers in time replaces it with its own.
		w.Header().Set("Content-Type", "application/json")
		timed.ServeHTTP(w, r)
	}))
}

// newHandler is the handler of b with opts' defaults filled in.
func newHandler(b Backend, opts Options) *handler {
	h := &handler{read: b, submit: b, debug: b, log: opts.Logger, version: opts.Version, timeout: opts.Timeout, maxBody: opts.MaxBodyBytes}
	if bb, ok := b.(BackupBackend); ok {
		h.copier = bb
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.timeout <= 0 {
		h.timeout = DefaultTimeout
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	return h
}

// isSubmit reports whether r is POST /v1/txs, which NewHandler serves with inline.
func isSubmit(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.EscapedPath() == "/v1/txs"
}

// inline serves next on the connection's own goroutine under the request timeout, with the
// same guarantee as the timeout handler that serves every other route: the client gets 503 busy
// once the deadline passes, also from a handler stuck in a call that ignores its context, and a
// late answer is dropped. A watchdog (context.AfterFunc on the deadline: no goroutine unless the
// deadline passes) writes that answer, with Connection: close since the connection's goroutine
// may still be held by the stuck handler; inline joins the watchdog before it returns. An error
// the handler writes after the deadline (an actor that did not answer in time, a body read that
// timed out: the connection's read deadline is set to the request's) is busy too. The handler
// writes through a guardedWriter, its own header map copied on WriteHeader, so that it and the
// watchdog never touch the connection's writer at once.
//
// http.TimeoutHandler starts a goroutine per request and buffers its answer: on POST /v1/txs that
// goroutine's small stack grew into signature verification on every transfer (runtime.copystack
// was 7.6% of the node's CPU at 4,400 transfers/s), where the connection's goroutine, kept across
// requests, grows its stack once.
func (h *handler) inline(busy []byte, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline := time.Now().Add(h.timeout)
		ctx, cancel := context.WithDeadline(r.Context(), deadline)
		defer cancel()
		// Not supported only by writers that are not net/http's (tests' recorders), whose body
		// is already in memory.
		_ = http.NewResponseController(w).SetReadDeadline(deadline)
		gw := &guardedWriter{w: w, header: http.Header{}, deadline: deadline, busy: busy}
		watched := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			defer close(watched)
			if errors.Is(ctx.Err(), context.DeadlineExceeded) { // not a client that went away
				gw.expire()
			}
		})
		next(gw, r.WithContext(ctx))
		if !stop() {
			<-watched // the watchdog started: it is done with w before ServeHTTP returns
		}
	})
}

// guardedWriter is inline's writer: the handler's and the watchdog's writes to w are serialised
// by mu, and once one of them has answered, the other's are dropped.
type guardedWriter struct {
	mu       sync.Mutex
	w        http.ResponseWriter
	header   http.Header // the handler's, copied to w's on WriteHeader
	deadline time.Time
	busy     []byte
	wrote    bool // a status line went out
	dropped  bool // the answer is busy: the handler's writes are dropped
}

func (g *guardedWriter) Header() http.Header { return g.header }

func (g *guardedWriter) WriteHeader(code int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.writeHeader(code)
}

func (g *guardedWriter) writeHeader(code int) {
	if g.wrote || g.dropped {
		return
	}
	if code >= 400 && !time.Now().Before(g.deadline) {
		g.writeBusy(false)
		return
	}
	g.wrote = true
	dst := g.w.Header()
	for k, v := range g.header {
		dst[k] = v
	}
	g.w.WriteHeader(code)
}

func (g *guardedWriter) Write(b []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.wrote && !g.dropped {
		g.writeHeader(http.StatusOK)
	}
	if g.dropped {
		return len(b), nil
	}
	return g.w.Write(b)
}

// expire answers busy unless the handler has begun its answer: the watchdog's, at the deadline.
func (g *guardedWriter) expire() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.wrote && !g.dropped {
		g.writeBusy(true)
	}
}

// writeBusy answers 503 busy and drops whatever the handler writes after it; closing, also the
// connection after the answer, which goes out at once.
func (g *guardedWriter) writeBusy(closing bool) {
	g.dropped = true
	hdr := g.w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(g.busy)))
	if closing {
		hdr.Set("Connection", "close")
	}
	g.w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = g.w.Write(g.busy)
	if closing {
		_ = http.NewResponseController(g.w).Flush()
	}
}

// routes is the route table, one line per endpoint (the pprof endpoints: pprofMux).
func (h *handler) routes(b Backend) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", h.status)
	mux.HandleFunc("GET /v1/health", h.health)
	mux.HandleFunc("GET /v1/blocks/{id}", h.block)
	mux.HandleFunc("GET /v1/accounts/{address}", h.account)
	mux.HandleFunc("POST /v1/txs", h.submitTx)
	mux.HandleFunc("GET /v1/txs/{hash}", h.tx)
	mux.HandleFunc("GET /v1/mempool", h.mempool)
	mux.HandleFunc("GET /v1/peers", h.peers)
	mux.HandleFunc("POST /v1/peers", h.addPeer)
	mux.HandleFunc("GET /v1/peers/bundle", h.exportPeers)
	mux.HandleFunc("POST /v1/peers/bundle", h.importPeers)
	mux.HandleFunc("POST /v1/mining", h.setMining)
	mux.HandleFunc("GET /v1/actors", h.actors)
	mux.HandleFunc("POST /v1/debug/actors/{name}/crash", h.faultHook("crash", b.CrashActor))
	mux.HandleFunc("POST /v1/debug/actors/{name}/kill", h.faultHook("kill", b.KillActor))
	mux.HandleFunc("POST /v1/debug/storage", h.debugOnly(h.storageFault))
	mux.HandleFunc("POST /v1/debug/clock", h.debugOnly(h.clockSkew))
	mux.HandleFunc("GET /v1/debug/links", h.debugOnly(h.links))
	mux.HandleFunc("POST /v1/debug/links", h.debugOnly(h.setLink))
	mux.HandleFunc("DELETE /v1/debug/links", h.debugOnly(h.clearLinks))
	mux.Handle("GET /metrics", b.MetricsHandler())
	mux.HandleFunc(BackupPath, h.backup)                        // GET is served by NewHandler's branch, outside the timeout; h.backup answers other methods 405
	mux.Handle("GET /{$}", dashboard.Handler(b.FaultInjection)) // the operator page (CONTRACT §11)
	return mux
}

// pprofMux serves net/http/pprof's endpoints (Options.Pprof), outside the timeout.
func pprofMux() *http.ServeMux {
	pm := http.NewServeMux()
	pm.HandleFunc("/debug/pprof/", pprof.Index)
	pm.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	pm.HandleFunc("/debug/pprof/profile", pprof.Profile)
	pm.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	pm.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return pm
}

// logRequests writes one Debug record per request.
func (h *handler) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "http request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)))
	})
}

// statusRecorder remembers the status code written through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// recoverPanics turns a handler panic into 500 internal and an Error record. It runs inside the
// TimeoutHandler's goroutine, so the panic never reaches net/http (which would log it and drop
// the connection) and never crashes the node.
func (h *handler) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.log.Error("api handler panicked", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			writeError(w, errcode.Internal, "internal error; see the node's log")
		}()
		next.ServeHTTP(w, r)
	})
}

// isPprofPath reports whether u is one of the pprof endpoints: the index, cmdline, profile,
// symbol, trace or a profile runtime/pprof knows. Any other path under /debug/pprof/ goes to the
// router, which answers the JSON 404 (pprof itself would answer "Unknown profile" in plain text).
func isPprofPath(u *url.URL) bool {
	name, ok := strings.CutPrefix(u.Path, "/debug/pprof/")
	if !ok || !canonicalPath(u.EscapedPath()) {
		return false
	}
	switch name {
	case "", "cmdline", "profile", "symbol", "trace":
		return true
	}
	return rpprof.Lookup(name) != nil
}
