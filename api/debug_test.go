package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/actorchain/actorchain/errcode"
)

var debugPeer = strings.Repeat("ab", 32)

// TestDebugHooksOff: every debug hook answers 404 not_found with debug.fault_injection off (the
// answer of an unknown path: TestDebugOffIsUnknownPath), and the backend is never asked.
func TestDebugHooksOff(t *testing.T) {
	f := newFake()
	srv := server(t, f, Options{})
	for _, tc := range []struct{ method, path, body string }{
		{http.MethodPost, "/v1/debug/storage", `{"fail_commits":true}`},
		{http.MethodPost, "/v1/debug/clock", `{"skew_seconds":5}`},
		{http.MethodPost, "/v1/debug/links", `{"peer":"` + debugPeer + `","cut":true}`},
		{http.MethodGet, "/v1/debug/links", ""},
		{http.MethodDelete, "/v1/debug/links", ""},
	} {
		wantError(t, do(t, srv, tc.method, tc.path, strings.NewReader(tc.body)), 404, errcode.NotFound, tc.method+" "+tc.path)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing || f.skew != 0 || len(f.links) != 0 {
		t.Fatalf("a hook ran with fault injection off: failing %v skew %d links %v", f.failing, f.skew, f.links)
	}
}

func TestDebugStorageAndClock(t *testing.T) {
	f := newFake()
	f.set(func(f *fake) { f.fault = true })
	srv := server(t, f, Options{})
	a := do(t, srv, http.MethodPost, "/v1/debug/storage", strings.NewReader(`{"fail_commits":true}`))
	if a.status != 200 || a.json(t)["fail_commits"] != true {
		t.Fatalf("storage on: %d %s", a.status, a.raw)
	}
	f.mu.Lock()
	failing := f.failing
	f.mu.Unlock()
	if !failing {
		t.Fatal("storage fault not passed to the backend")
	}
	a = do(t, srv, http.MethodPost, "/v1/debug/clock", strings.NewReader(`{"skew_seconds":-30}`))
	if a.status != 200 || a.json(t)["skew_seconds"] != -30.0 {
		t.Fatalf("clock: %d %s", a.status, a.raw)
	}
	wantError(t, do(t, srv, http.MethodPost, "/v1/debug/clock", strings.NewReader(`{"skew_seconds":120}`)), 400, errcode.OutOfRange, "120000 ms")
	wantError(t, do(t, srv, http.MethodPost, "/v1/debug/clock", strings.NewReader(`{"skew_seconds":-99999999999999}`)), 400, errcode.OutOfRange)
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/debug/storage", `{}`, "fail_commits: missing"},
		{"/v1/debug/storage", `{"fail_commits":1}`, "fail_commits"},
		{"/v1/debug/storage", `{"fail_commits":true,"x":1}`, "x: unknown field"},
		{"/v1/debug/clock", `{"skew_seconds":1.5}`, "skew_seconds"},
		{"/v1/debug/clock", `{}`, "skew_seconds: missing"},
		{"/v1/debug/clock", `[]`, "JSON object"},
	} {
		wantError(t, do(t, srv, http.MethodPost, tc.path, strings.NewReader(tc.body)), 400, errcode.Malformed, tc.want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.skew != -30 {
		t.Fatalf("skew %d after refused values, want -30", f.skew)
	}
}

func TestDebugLinks(t *testing.T) {
	f := newFake()
	f.set(func(f *fake) { f.fault = true })
	srv := server(t, f, Options{})
	c := NewClient(srv.URL, srv.Client())
	ctx := t.Context()
	list, err := c.DebugSetLink(ctx, LinkFilter{Peer: debugPeer, Cut: true, DelayMs: 20, Loss: 0.5})
	if err != nil || len(list) != 1 || list[0] != (LinkFilter{Peer: debugPeer, Cut: true, DelayMs: 20, Loss: 0.5}) {
		t.Fatalf("set: %+v %v", list, err)
	}
	if list, err = c.DebugLinks(ctx); err != nil || len(list) != 1 {
		t.Fatalf("get: %+v %v", list, err)
	}
	// Missing fields are zero: a body with only the peer removes its filter.
	a := do(t, srv, http.MethodPost, "/v1/debug/links", strings.NewReader(`{"peer":"`+debugPeer+`"}`))
	if a.status != 200 || strings.TrimSpace(string(a.raw)) != "[]" {
		t.Fatalf("remove: %d %s", a.status, a.raw)
	}
	if _, err := c.DebugSetLink(ctx, LinkFilter{Peer: debugPeer, Loss: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.DebugClearLinks(ctx); err != nil {
		t.Fatal(err)
	}
	if a := get(t, srv, "/v1/debug/links"); a.status != 200 || strings.TrimSpace(string(a.raw)) != "[]" {
		t.Fatalf("after clear: %d %s", a.status, a.raw)
	}
	for _, tc := range []struct{ body, want string }{
		{`{}`, "peer: missing"},
		{`{"peer":"xyz"}`, "peer:"},
		{`{"peer":"` + debugPeer + `","delay_ms":-1}`, "delay_ms"},
		{`{"peer":"` + debugPeer + `","delay_ms":60001}`, "delay_ms"},
		{`{"peer":"` + debugPeer + `","loss":1.5}`, "loss"},
		{`{"peer":"` + debugPeer + `","loss":-0.1}`, "loss"},
		{`{"peer":"` + debugPeer + `","cut":"yes"}`, "cut"},
		{`{"peer":"` + debugPeer + `","drop":true}`, "drop: unknown field"},
	} {
		wantError(t, do(t, srv, http.MethodPost, "/v1/debug/links", strings.NewReader(tc.body)), 400, errcode.Malformed, tc.want)
	}
	if _, err := c.DebugClockSkew(ctx, 500); !isAPIError(err, 400, errcode.OutOfRange) {
		t.Fatalf("client clock out of range: %v", err)
	}
	if on, err := c.DebugStorageFault(ctx, false); err != nil || on {
		t.Fatalf("client storage: %v %v", on, err)
	}
}
