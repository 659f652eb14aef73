package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/errcode"
)

// loopback is NewHandler served by a real http.Server on loopback, set up as the node's api
// actor sets it up (MaxHeaderBytes 64 KiB, the listener wrapped by Listener), so that
// the answers net/http writes by itself are part of what is tested.
type loopback struct {
	addr string
}

func serveLoopback(t *testing.T, f *fake, opts Options) loopback {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(f, opts)
	// conns counts the connection goroutines, which outlive Close while net/http waits before
	// closing a connection it answered 431 (closeWriteAndWait): the cleanup joins them.
	var conns sync.WaitGroup
	srv := &http.Server{Handler: h, MaxHeaderBytes: 64 << 10, ReadHeaderTimeout: 5 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				conns.Add(1)
			case http.StateClosed, http.StateHijacked:
				conns.Done()
			}
		}}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(Listener(ln)) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		joined := make(chan struct{})
		go func() { conns.Wait(); close(joined) }()
		select {
		case <-joined:
		case <-time.After(10 * time.Second):
			t.Error("connections still open 10 s after Close")
		}
	})
	return loopback{addr: ln.Addr().String()}
}

// rawAnswer is one answer read off the wire.
type rawAnswer struct {
	status int
	header http.Header
	body   []byte
	wire   []byte // the answer's bytes as sent, Date header removed
}

// raw sends req's bytes as they are (in a goroutine, since the server may answer before it has
// read them all) and reads answers until the server closes or n answers have come.
func (l loopback) raw(t *testing.T, req []byte, n int) []rawAnswer {
	t.Helper()
	c, err := net.DialTimeout("tcp", l.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = c.Write(req) // fails once the server closes: that is the point of some cases
	}()
	defer func() {
		_ = c.Close()
		wg.Wait()
	}()
	rec := &recordingReader{r: c}
	br := bufio.NewReader(rec)
	var head *http.Request
	if bytes.HasPrefix(req, []byte("HEAD ")) {
		head = &http.Request{Method: http.MethodHead}
	}
	var out []rawAnswer
	for len(out) < n {
		start := rec.buf.Len() - br.Buffered()
		res, err := http.ReadResponse(br, head)
		if err != nil {
			t.Fatalf("answer %d to %.60q: %v", len(out)+1, req, err)
		}
		body, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if err != nil {
			t.Fatalf("answer %d body: %v", len(out)+1, err)
		}
		end := rec.buf.Len() - br.Buffered()
		wire := dropDate(rec.buf.Bytes()[start:end])
		out = append(out, rawAnswer{status: res.StatusCode, header: res.Header, body: body, wire: wire})
	}
	return out
}

// recordingReader keeps every byte read through it.
type recordingReader struct {
	r   io.Reader
	buf bytes.Buffer
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.buf.Write(p[:n])
	return n, err
}

func dropDate(b []byte) []byte {
	var out []byte
	for line := range bytes.SplitAfterSeq(b, []byte("\r\n")) {
		if !bytes.HasPrefix(line, []byte("Date: ")) {
			out = append(out, line...)
		}
	}
	return out
}

// wantJSONError checks a raw answer: the status, Content-Type application/json, a body of
// exactly {"error", "code"} with the code, and a Content-Length that fits.
func wantJSONError(t *testing.T, what string, a rawAnswer, status int, code errcode.Code) {
	t.Helper()
	if a.status != status {
		t.Errorf("%s: status %d, want %d: %q", what, a.status, status, a.wire)
		return
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json: %q", what, ct, a.wire)
	}
	if cl := a.header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(a.body)) {
		t.Errorf("%s: Content-Length %s, body %d bytes", what, cl, len(a.body))
	}
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Errorf("%s: body is not JSON: %v: %q", what, err, a.body)
		return
	}
	if keys := sortedKeys(m); !slices.Equal(keys, []string{"code", "error"}) {
		t.Errorf("%s: body keys %v: %q", what, keys, a.body)
	}
	if msg, _ := m["error"].(string); msg == "" {
		t.Errorf("%s: empty error: %q", what, a.body)
	}
	if m["code"] != string(code) {
		t.Errorf("%s: code %v, want %s: %q", what, m["code"], code, a.body)
	}
}

func rawGet(path string, extra ...string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + strings.Join(extra, "") + "Connection: close\r\n\r\n")
}

// TestWireErrorsAreJSON: every error answer, including those net/http writes before any
// handler runs, is the JSON error of CONTRACT §3 on a real server.
func TestWireErrorsAreJSON(t *testing.T) {
	l := serveLoopback(t, newFake(), Options{})
	big := func(n int) string { return "X-Big: " + strings.Repeat("a", n) + "\r\n" }
	post := func(headers, body string) []byte {
		return []byte("POST /v1/txs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + headers + "Connection: close\r\n\r\n" + body)
	}
	for _, tc := range []struct {
		name   string
		req    []byte
		status int
		code   errcode.Code
		in     string // in the error message
	}{
		{"unknown path", rawGet("/nope"), 404, errcode.NotFound, "/nope"},
		// GET / is the dashboard (CONTRACT §11; TestDashboardAtRootOnly); the paths around it are not.
		{"root's index", rawGet("/index.html"), 404, errcode.NotFound, "/index.html"},
		{"root, wrong method", []byte("DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 405, errcode.MethodNotAllowed, "GET"},
		{"trailing slash", rawGet("/v1/status/"), 404, errcode.NotFound, ""},
		{"dot-dot segment", rawGet("/v1/blocks/../status"), 404, errcode.NotFound, ""},
		{"empty segment", rawGet("//v1/status"), 404, errcode.NotFound, ""},
		{"dot segment", rawGet("/v1/./status"), 404, errcode.NotFound, ""},
		{"dot-dot above the root", rawGet("/../v1/status"), 404, errcode.NotFound, ""},
		{"asterisk", rawGet("*"), 404, errcode.NotFound, ""},
		{"escaped dot-dot is a block id", rawGet("/v1/blocks/%2e%2e/status"), 404, errcode.NotFound, ""},
		{"escaped dot-dot block id", rawGet("/v1/blocks/%2e%2e"), 400, errcode.Malformed, "block id"},
		{"absolute form, dot-dot", rawGet("http://127.0.0.1/v1/x/../status"), 404, errcode.NotFound, ""},
		{"CONNECT", []byte("CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n"), 404, errcode.NotFound, ""},
		{"wrong method", []byte("DELETE /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 405, errcode.MethodNotAllowed, "GET"},
		{"unknown method", []byte("BREW /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 405, errcode.MethodNotAllowed, "BREW"},
		{"header over the limit", rawGet("/v1/status", big(80<<10)), 431, errcode.HeaderTooLarge, "header"},
		{"header of 1 MiB + 64 KiB", rawGet("/v1/status", big(1<<20+64<<10)), 431, errcode.HeaderTooLarge, "header"},
		{"many small headers", rawGet("/v1/status", strings.Repeat("X-A: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n", 2000)), 431, errcode.HeaderTooLarge, ""},
		{"negative Content-Length", post("Content-Length: -1\r\n", "{}"), 400, errcode.Malformed, "malformed HTTP request"},
		{"Content-Length not a number", post("Content-Length: two\r\n", "{}"), 400, errcode.Malformed, ""},
		{"two Content-Lengths", post("Content-Length: 2\r\nContent-Length: 3\r\n", "{}"), 400, errcode.Malformed, ""},
		{"Content-Length and chunked", post("Content-Length: 2\r\nTransfer-Encoding: chunked\r\n", "2\r\n{}\r\n0\r\n\r\n"), 400, errcode.Malformed, "missing"},
		{"bad chunked body", post("Transfer-Encoding: chunked\r\n", "zz\r\n{}\r\n0\r\n\r\n"), 400, errcode.Malformed, "body"},
		{"unknown transfer encoding", post("Transfer-Encoding: gzip\r\n", "{}"), 501, errcode.NotImplemented, "Transfer-Encoding"},
		{"no Host", []byte("GET /v1/status HTTP/1.1\r\nConnection: close\r\n\r\n"), 400, errcode.Malformed, "Host"},
		{"two Hosts", []byte("GET /v1/status HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"), 400, errcode.Malformed, ""},
		{"bad header name", rawGet("/v1/status", "Bad Name: x\r\n"), 400, errcode.Malformed, "header"},
		{"bad header value", rawGet("/v1/status", "X-A: a\x00b\r\n"), 400, errcode.Malformed, "header"},
		{"garbage request line", []byte("HELLO\r\n\r\n"), 400, errcode.Malformed, ""},
		{"binary", []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"), 400, errcode.Malformed, ""},
		{"HTTP/2.0 request line", []byte("GET /v1/status HTTP/2.0\r\nHost: x\r\n\r\n"), 505, errcode.HTTPVersion, "HTTP version"},
		{"HTTP/3.1 request line", []byte("GET /v1/status HTTP/3.1\r\nHost: x\r\n\r\n"), 505, errcode.HTTPVersion, ""},
		{"unknown expectation", rawGet("/v1/status", "Expect: tea\r\n"), 417, errcode.ExpectationFailed, "Expect"},
		{"malformed JSON body", post("Content-Length: 1\r\n", "{"), 400, errcode.Malformed, "body"},
	} {
		a := l.raw(t, tc.req, 1)[0]
		wantJSONError(t, tc.name, a, tc.status, tc.code)
		if tc.in != "" && !bytes.Contains(a.body, []byte(tc.in)) {
			t.Errorf("%s: error %q does not mention %q", tc.name, a.body, tc.in)
		}
		if loc := a.header.Get("Location"); loc != "" {
			t.Errorf("%s: Location %q", tc.name, loc)
		}
	}
}

// TestWireNormalAnswersUntouched is the control of TestWireErrorsAreJSON: the listener leaves
// the handler's answers alone, plain-text /metrics included, and keeps the connection alive; an
// oversized header after a good request on the same connection still gets the JSON 431.
func TestWireNormalAnswersUntouched(t *testing.T) {
	l := serveLoopback(t, newFake(), Options{})
	req := "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n"
	got := l.raw(t, []byte(req), 3)
	if got[0].status != 200 || got[0].header.Get("Content-Type") != "application/json" || !bytes.Contains(got[0].body, []byte(`"height"`)) {
		t.Errorf("status: %q", got[0].wire)
	}
	if got[1].status != 200 || !strings.HasPrefix(got[1].header.Get("Content-Type"), "text/plain") ||
		string(got[1].body) != "actorchain_chain_height 3\n" {
		t.Errorf("metrics: %q", got[1].wire)
	}
	wantJSONError(t, "431 after two answers", got[2], 431, errcode.HeaderTooLarge)
}

// TestWirePathTricksNeverRedirect: no request answers a redirect or HTML, whatever the path.
func TestWirePathTricksNeverRedirect(t *testing.T) {
	f := newFake()
	f.set(func(f *fake) { f.fault = true })
	l := serveLoopback(t, f, Options{Pprof: true})
	for _, p := range []string{"/v1/blocks/../status", "//v1/status", "/v1//status", "/v1/status/.", "/v1/status/..",
		"/./v1/status", "/v1/debug/../status", "/debug/pprof/../../v1/status", "/debug/pprof", "/debug/pprof/./cmdline",
		"/v1/debug/actors/consensus/../x/crash", "/v1/debug/links/", "/metrics/", "//", "/./", "/.", "/index.html", "/dashboard"} {
		for _, m := range []string{"GET", "POST", "DELETE", "HEAD"} {
			req := []byte(m + " " + p + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			a := l.raw(t, req, 1)[0]
			if a.status/100 == 3 || a.header.Get("Location") != "" || strings.Contains(a.header.Get("Content-Type"), "html") {
				t.Errorf("%s %s: %q", m, p, a.wire)
			}
			if m != "HEAD" {
				wantJSONError(t, m+" "+p, a, 404, errcode.NotFound)
			} else if a.status != 404 {
				t.Errorf("HEAD %s: %d", p, a.status)
			}
		}
	}
}

// TestDashboardAtRootOnly: GET and HEAD / serve the dashboard (the one HTML answer), carrying
// the fault-injection flag; another method on / is the JSON 405, and every other path stays a
// JSON 404 (TestWirePathTricksNeverRedirect has /index.html, //, /./ and more).
func TestDashboardAtRootOnly(t *testing.T) {
	for _, fault := range []bool{false, true} {
		f := newFake()
		f.set(func(f *fake) { f.fault = fault })
		l := serveLoopback(t, f, Options{})
		got := l.raw(t, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"), 2)
		got = append(got, l.raw(t, []byte("HEAD /?refresh=1 HTTP/1.1\r\nHost: x\r\n\r\n"), 1)...)
		meta := `<meta name="actorchain-fault-injection" content="` + strconv.FormatBool(fault) + `">`
		if a := got[0]; a.status != 200 || a.header.Get("Content-Type") != "text/html; charset=utf-8" ||
			!strings.Contains(a.header.Get("Content-Security-Policy"), "default-src 'none'") ||
			!bytes.Contains(a.body, []byte("<title>Actorchain node</title>")) || !bytes.Contains(a.body, []byte(meta)) {
			t.Errorf("GET / with fault injection %v: %d %q, %d bytes", fault, a.status, a.header, len(a.body))
		}
		if a := got[2]; a.status != 200 || len(a.body) != 0 || a.header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("HEAD /: %q", a.wire)
		}
		wantJSONError(t, "POST /", got[1], 405, errcode.MethodNotAllowed)
		if allow := got[1].header.Get("Allow"); allow != "GET, HEAD" {
			t.Errorf("POST /: Allow %q", allow)
		}
	}
}

// TestDebugOffIsUnknownPath: with fault injection off, every debug path and method answers byte
// for byte what an unknown path answers with the same method (the path substituted), on the
// wire.
func TestDebugOffIsUnknownPath(t *testing.T) {
	l := serveLoopback(t, newFake(), Options{Version: "v-test"})
	for _, tc := range []struct{ method, path string }{
		{"POST", "/v1/debug/actors/consensus/crash"},
		{"POST", "/v1/debug/actors/miner%2Fworker-0/kill"},
		{"GET", "/v1/debug/actors/consensus/crash"},
		{"POST", "/v1/debug/actors/nope/explode"},
		{"POST", "/v1/debug/storage"},
		{"POST", "/v1/debug/clock"},
		{"GET", "/v1/debug/links"},
		{"POST", "/v1/debug/links"},
		{"DELETE", "/v1/debug/links"},
		{"PUT", "/v1/debug/links"},
		{"GET", "/v1/debug"},
		{"GET", "/v1/debug/"},
	} {
		ask := func(path string) []byte {
			req := tc.method + " " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
			a := l.raw(t, []byte(req), 1)[0]
			wantJSONError(t, tc.method+" "+path, a, 404, errcode.NotFound)
			return a.wire
		}
		const nope = "/zzzz-unknown-path-zzzz"
		debug, unknown := ask(tc.path), ask(nope)
		decoded := strings.ReplaceAll(tc.path, "%2F", "/")
		norm := func(b []byte, p string) string {
			// the body's length changes with the path: compare with Content-Length dropped too
			s := strings.ReplaceAll(string(b), p, "PATH")
			var keep []string
			for line := range strings.SplitSeq(s, "\r\n") {
				if !strings.HasPrefix(line, "Content-Length: ") {
					keep = append(keep, line)
				}
			}
			return strings.Join(keep, "\r\n")
		}
		if d, u := norm(debug, decoded), norm(unknown, nope); d != u {
			t.Errorf("%s %s answered\n%q\n%s %s answered\n%q", tc.method, tc.path, d, tc.method, nope, u)
		}
	}
}

// TestRewriteServerError: only net/http's own error answers are rewritten.
func TestRewriteServerError(t *testing.T) {
	for _, tc := range []struct {
		in     string
		status int // 0: left as it is
	}{
		{"HTTP/1.1 431 Request Header Fields Too Large" + plainErrorHeaders + "431 Request Header Fields Too Large", 431},
		{"HTTP/1.1 400 Bad Request" + plainErrorHeaders + "400 Bad Request", 400},
		{"HTTP/1.1 400 Bad Request: missing required Host header" + plainErrorHeaders + "400 Bad Request: missing required Host header", 400},
		{"HTTP/1.1 501 Not Implemented" + plainErrorHeaders + "Unsupported transfer encoding", 501},
		{"HTTP/1.1 505 HTTP Version Not Supported: unsupported protocol version" + plainErrorHeaders + "505 HTTP Version Not Supported: unsupported protocol version", 505},
		{"HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nDate: Wed, 02 Dec 2026 06:00:00 GMT\r\nContent-Length: 0\r\n\r\n", 417},
		// answers of handlers: always a Date header, the headers in another order
		{"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: x\r\nContent-Length: 2\r\n\r\n{}", 0},
		{"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nDate: x\r\nContent-Length: 19\r\n\r\n404 page not found\n", 0},
		{"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nDate: x\r\n\r\n" + plainErrorHeaders, 0},
		{"HTTP/1.1 417 Expectation Failed\r\nContent-Type: application/json\r\nDate: x\r\nContent-Length: 2\r\n\r\n{}", 0},
		{"HTTP/1.1 302 Found" + plainErrorHeaders + "x", 0},
		{"HTTP/1.1 4", 0},
		{"actorchain_chain_height 3\n", 0},
		{"", 0},
	} {
		out, ok := rewriteServerError([]byte(tc.in))
		if ok != (tc.status != 0) {
			t.Errorf("%q: rewritten %v", tc.in, ok)
			continue
		}
		if !ok {
			continue
		}
		res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
		if err != nil {
			t.Errorf("%q: rewritten to %q: %v", tc.in, out, err)
			continue
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != tc.status || res.Header.Get("Content-Type") != "application/json" || !res.Close ||
			res.ContentLength != int64(len(body)) || !json.Valid(body) {
			t.Errorf("%q: rewritten to %q", tc.in, out)
		}
	}
}
