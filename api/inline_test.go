package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/errcode"
)

// POST /v1/txs runs on the connection's goroutine (inline), not under http.TimeoutHandler: these
// tests hold it to the same guarantees. TestTimeout covers a submit stuck past the deadline.

// TestSubmitStuckClosesConnection: the busy answer of a submit stuck in a call that ignores its
// context says Connection: close (the connection's goroutine is still held), and the handler's
// late answer is dropped, not appended.
func TestSubmitStuckClosesConnection(t *testing.T) {
	f := newFake()
	hold := make(chan struct{})
	f.set(func(f *fake) { f.hold = hold })
	const timeout = 100 * time.Millisecond
	srv := server(t, f, Options{Timeout: timeout})
	released := false
	release := func() {
		if !released {
			released = true
			close(hold)
		}
	}
	t.Cleanup(release)

	conn := rawSubmit(t, srv, exampleBody(), -1)
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer before the stuck handler returned: %v", err)
	}
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, answer{status: res.StatusCode, header: res.Header, raw: raw}, 503, errcode.Busy, "did not answer within")
	if !res.Close {
		t.Errorf("busy answer of a stuck submit without Connection: close: %v", res.Header)
	}
	release() // the handler now answers 202 late: it must not reach the connection
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("reading after the answer: %v", err)
	}
	if len(rest) != 0 {
		t.Errorf("bytes after the busy answer: %q", rest)
	}
}

// TestSubmitSlowBody: a client that sends its headers but not the whole body gets busy at the
// deadline (the connection's read deadline), not 400 malformed and not after the server's own
// read timeout.
func TestSubmitSlowBody(t *testing.T) {
	const timeout = 150 * time.Millisecond
	srv := server(t, newFake(), Options{Timeout: timeout})
	start := time.Now()
	conn := rawSubmit(t, srv, exampleBody(), 10)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	raw, _ := io.ReadAll(res.Body)
	wantError(t, answer{status: res.StatusCode, header: res.Header, raw: raw}, 503, errcode.Busy)
	if elapsed < timeout || elapsed > timeout+2*time.Second {
		t.Errorf("answered after %v, want about %v", elapsed, timeout)
	}
}

// lateBackend answers SubmitTx with its context's error once the deadline has passed, as the
// node's actors do (ErrUnavailable wraps no context error, so the answer's code comes from the
// deadline, not from classify).
type lateBackend struct {
	*fake
	err error
}

func (l *lateBackend) SubmitTx(ctx context.Context, tx *chainstate.Tx) (chainstate.Hash, error) {
	<-ctx.Done()
	return chainstate.Hash{}, l.err
}

// TestSubmitLateErrorIsBusy: an error the handler writes after the deadline is busy, whatever
// the backend's error was, and the connection stays usable (it was not stuck).
func TestSubmitLateErrorIsBusy(t *testing.T) {
	const timeout = 100 * time.Millisecond
	for _, err := range []error{errcode.New(errcode.Internal, "boom"), context.DeadlineExceeded, errUnavailable} {
		srv := serve(t, NewHandler(&lateBackend{fake: newFake(), err: err}, Options{Timeout: timeout}))
		a := post(t, srv, "/v1/txs", exampleBody())
		wantError(t, a, 503, errcode.Busy)
	}
}

// TestSubmitInTimeUnchanged: an answer written before the deadline goes out as written, also an
// error, on a keep-alive connection; many submits in a row reuse it.
func TestSubmitInTimeUnchanged(t *testing.T) {
	f := newFake()
	srv := server(t, f, Options{Timeout: 5 * time.Second})
	for range 3 {
		a := post(t, srv, "/v1/txs", exampleBody())
		if a.status != http.StatusAccepted || a.header.Get("Connection") == "close" {
			t.Fatalf("submit: %d %v %q", a.status, a.header, a.raw)
		}
	}
	f.set(func(f *fake) { f.submitErr = errcode.New(errcode.BadNonce, "nonce 0: want 3") })
	wantError(t, post(t, srv, "/v1/txs", exampleBody()), 400, errcode.BadNonce, "want 3")
	wantError(t, post(t, srv, "/v1/txs", `{"chain_id":`), 400, errcode.Malformed)
	if got := len(f.submitted); got != 3 {
		t.Errorf("%d submitted, want 3", got)
	}
}

// TestSubmitPanicRecovered: a panic in the submit path is 500 internal, and the next submit on
// the node is answered.
func TestSubmitPanicRecovered(t *testing.T) {
	f := newFake()
	f.set(func(f *fake) { f.panicMsg = "invariant broken" })
	srv := server(t, f, Options{})
	wantError(t, post(t, srv, "/v1/txs", exampleBody()), 500, errcode.Internal)
	f.set(func(f *fake) { f.panicMsg = "" })
	if a := post(t, srv, "/v1/txs", exampleBody()); a.status != http.StatusAccepted {
		t.Errorf("after a panic: %d %q", a.status, a.raw)
	}
}

// rawSubmit dials srv and writes a POST /v1/txs whose Content-Length is body's, with only the
// first send bytes of body (all of it when send < 0); the connection closes with the test.
func rawSubmit(t *testing.T, srv *httptest.Server, body string, send int) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if send < 0 {
		send = len(body)
	}
	fmt.Fprintf(conn, "POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:send])
	return conn
}
