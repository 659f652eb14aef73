package api

import (
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/actorchain/actorchain/errcode"
)

// debugPrefix is the path prefix of the fault hooks. With debug.fault_injection off every path
// under it, whatever the method, answers exactly what an unknown path answers (notFound).
const debugPrefix = "/v1/debug/"

// router dispatches a request to the route table (a ServeMux with method patterns) and writes
// every answer the mux would write itself as a §3 JSON error:
//
//   - a path that is not canonical (an empty, "." or ".." segment, as in //v1/status or
//     /v1/blocks/../status, or no leading slash) is 404 not_found: paths are matched exactly as
//     sent, never cleaned, so the mux's 307 text/html redirect to the cleaned path never happens;
//   - a /v1/debug/ path while fault injection is off is 404 not_found, byte for byte the answer of
//     an unknown path (so is a wrong method there: the hooks' existence is not revealed);
//   - a path no pattern matches is 404 not_found;
//   - a path some pattern matches with another method is 405 method_not_allowed with the mux's
//     Allow header.
//
// Everything else goes to the matched route's handler.
type router struct {
	mux   *http.ServeMux
	debug func() bool // whether the fault hooks are on
}

func (rt router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	if !canonicalPath(p) {
		notFound(w, r)
		return
	}
	if (p == strings.TrimSuffix(debugPrefix, "/") || strings.HasPrefix(p, debugPrefix)) && !rt.debug() {
		notFound(w, r)
		return
	}
	h, pattern := rt.mux.Handler(r)
	if pattern != "" {
		rt.mux.ServeHTTP(w, r) // matches again, and sets r's path values for the route
		return
	}
	// No route: the mux's handler is its 404 or its 405 (which sets Allow). Let it answer into
	// a recorder and write the JSON error instead.
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		methodNotAllowed(w, r, rec.header.Get("Allow"))
		return
	}
	notFound(w, r)
}

// canonicalPath reports whether p (an escaped URL path) is what net/http's ServeMux would leave
// as it is: it starts with "/" and has no empty, "." or ".." segment (a trailing slash aside).
func canonicalPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean == p
}

// notFound answers 404 not_found for r's method and path. It is the one answer of every path
// that names no endpoint: unknown, not canonical, or a debug hook with fault injection off.
func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, errcode.NotFound, fmt.Sprintf("no endpoint %s %s", r.Method, clip(r.URL.Path)))
}

// methodNotAllowed answers 405 method_not_allowed with the Allow header.
func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, errcode.MethodNotAllowed,
		fmt.Sprintf("method %s is not allowed on %s (allowed: %s)", r.Method, clip(r.URL.Path), allow))
}

// headerRecorder is a ResponseWriter that keeps the header and status and drops the body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }

func (h *headerRecorder) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *headerRecorder) Write(b []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return len(b), nil
}
