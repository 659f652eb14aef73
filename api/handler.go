package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"net/url"
	"runtime/debug"
	rpprof "runtime/pprof"
	"strings"
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
// Routing: the route table below, one line per endpoint, is a ServeMux of method patterns; the
// router (router.go) sends a request to its route or answers the 404 or 405 itself.
func NewHandler(b Backend, opts Options) http.Handler {
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
	mux.HandleFunc(BackupPath, h.backup)                        // GET is served by the branch below, outside the timeout; h.backup answers other methods 405
	mux.Handle("GET /{$}", dashboard.Handler(b.FaultInjection)) // the operator page (CONTRACT §11)

	busy := errorJSON(errcode.Busy, fmt.Sprintf("the node did not answer within %s; retry later", h.timeout))
	timed := inlineTimeout{next: h.recoverPanics(router{mux: mux, debug: b.FaultInjection}), d: h.timeout, busy: busy}

	var prof http.Handler
	if opts.Pprof {
		pm := http.NewServeMux()
		pm.HandleFunc("/debug/pprof/", pprof.Index)
		pm.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		pm.HandleFunc("/debug/pprof/profile", pprof.Profile)
		pm.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		pm.HandleFunc("/debug/pprof/trace", pprof.Trace)
		prof = h.recoverPanics(pm)
	}

	backup := h.recoverPanics(http.HandlerFunc(h.backup))

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
		// NB: the timeout writes its 503 body without a Content-Type; set it here, on the real
		// writer. A handler that answers in time replaces it with its own.
		w.Header().Set("Content-Type", "application/json")
		timed.ServeHTTP(w, r)
	}))
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
// time limit (inlineTimeout), so the panic never reaches net/http (which would log it and drop
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
