package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/config"
)

// closedURL is the URL of a loopback port where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	_ = l.Close()
	return url
}

// newKeyFile writes a fresh key file and returns its path and address.
func newKeyFile(t *testing.T) (string, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "k.key")
	made := decode[map[string]string](t, cli(t, "keys", "new", "--out", file).want(t, exitOK))
	return file, made["address"]
}

// TestNoNodeAnswers: every command that talks to a node says so, naming the URL, when nothing
// listens there, and exits 1.
func TestNoNodeAnswers(t *testing.T) {
	url := closedURL(t)
	key, to := newKeyFile(t)
	dir := t.TempDir()
	home, _ := initHome(t, dir, "a")
	bundle := filepath.Join(dir, "b.json")
	if err := os.WriteFile(bundle, []byte(cli(t, "peers", "export", "--home", home).want(t, exitOK)), 0o644); err != nil {
		t.Fatal(err)
	}
	want := "no node answers at " + url + "; start it with node run"
	for _, args := range [][]string{
		{"status", "--api", url},
		{"tx", "send", "--api", url, "--key", key, "--to", to, "--amount", "1"},
		{"tx", "send", "--api", url, "--key", key, "--to", to, "--amount", "1", "--nonce", "3"},
		{"tx", "send", "--api", url, "--key", key, "--to", to, "--amount", "1", "--count", "5"},
		{"peers", "list", "--api", url},
		{"peers", "add", "--api", url, somePeer(0).ID + "@127.0.0.1:9"},
		{"peers", "export", "--api", url},
		{"peers", "import", "--api", url, bundle},
	} {
		r := cli(t, args...)
		if r.code != exitFailure || !strings.Contains(r.err.String(), want) {
			t.Errorf("node %s: exit %d, stderr %q; want exit 1 and %q", strings.Join(args, " "), r.code, r.err.String(), want)
		}
		if strings.Contains(r.err.String(), `Get "`) || strings.Contains(r.err.String(), `Post "`) {
			t.Errorf("node %s: Go's raw error: %q", strings.Join(args, " "), r.err.String())
		}
	}
	// The URL from HOME's config when --api is not given.
	editConfig(t, home, func(c *config.Config) { c.API.Listen = strings.TrimPrefix(url, "http://") })
	r := cli(t, "status", "--home", home)
	if r.code != exitFailure || !strings.Contains(r.err.String(), want) {
		t.Errorf("node status --home: exit %d, stderr %q", r.code, r.err.String())
	}
}

// fakeNode is an API that answers status and account and accepts the first accept transfers,
// refusing the rest with 400 mempool_full; it counts the transfers it is sent.
type fakeNode struct {
	mu       sync.Mutex
	accept   int
	txs      int
	nonces   []uint64
	requests int
}

func (f *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/status":
		_, _ = io.WriteString(w, `{"chain_id":"actorchain-devnet","height":1}`)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/accounts/"):
		_, _ = io.WriteString(w, `{"balance":1000,"nonce":4,"pending_nonce":4}`)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/txs":
		var tx struct{ Nonce uint64 }
		_ = json.NewDecoder(r.Body).Decode(&tx)
		f.txs++
		f.nonces = append(f.nonces, tx.Nonce)
		if f.txs > f.accept {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"mempool is full (5 transactions)","code":"mempool_full"}`)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = fmt.Fprintf(w, `{"hash":"%064x"}`, f.txs)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":"no endpoint","code":"not_found"}`)
	}
}

func (f *fakeNode) counts() (requests, txs int, nonces []uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, f.txs, append([]uint64(nil), f.nonces...)
}

func serveFakeNode(t *testing.T, accept int) (*fakeNode, string) {
	t.Helper()
	f := &fakeNode{accept: accept}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

// TestTxSendNonce: a negative --nonce is bad usage naming the nonce and sends nothing; an
// explicit --nonce 0 is nonce 0, not "the next nonce"; no --nonce asks the node for the next.
func TestTxSendNonce(t *testing.T) {
	key, to := newKeyFile(t)
	for _, bad := range []string{"-7", "-1", "x", "1.5", "18446744073709551616"} {
		f, url := serveFakeNode(t, 100)
		r := cli(t, "tx", "send", "--api", url, "--key", key, "--to", to, "--amount", "1", "--nonce", bad)
		if r.code != exitUsage || !strings.Contains(r.err.String(), "--nonce") {
			t.Errorf("--nonce %s: exit %d, stderr %q; want exit 2 naming --nonce", bad, r.code, r.err.String())
		}
		if req, txs, _ := f.counts(); req != 0 || txs != 0 {
			t.Errorf("--nonce %s: the node got %d requests, %d transfers", bad, req, txs)
		}
	}
	for _, tc := range []struct {
		args []string
		want uint64
	}{
		{[]string{"--nonce", "0"}, 0},
		{[]string{"--nonce", "9"}, 9},
		{nil, 4}, // the fake's pending nonce
	} {
		f, url := serveFakeNode(t, 100)
		args := append([]string{"tx", "send", "--api", url, "--key", key, "--to", to, "--amount", "1"}, tc.args...)
		cli(t, args...).want(t, exitOK)
		if _, _, nonces := f.counts(); len(nonces) != 1 || nonces[0] != tc.want {
			t.Errorf("%v: sent nonces %v, want [%d]", tc.args, nonces, tc.want)
		}
	}
}

// TestTxSendCountRejections: --count prints its summary and exits 1 when any transfer is not
// accepted, naming the first reason; 0 when all are.
func TestTxSendCountRejections(t *testing.T) {
	key, to := newKeyFile(t)
	for _, tc := range []struct {
		accept, count int
		code          int
	}{
		{5, 8, exitFailure},
		{0, 3, exitFailure},
		{7, 8, exitFailure},
		{8, 8, exitOK},
	} {
		f, url := serveFakeNode(t, tc.accept)
		r := cli(t, "tx", "send", "--api", url, "--key", key, "--to", to, "--amount", "1",
			"--count", fmt.Sprint(tc.count), "--concurrency", "2")
		out := r.want(t, tc.code)
		res := decode[loadResult](t, out)
		rejected := max(tc.count-tc.accept, 0)
		if res.Sent != int64(tc.count) || res.Accepted != int64(tc.count-rejected) || res.Rejected != int64(rejected) {
			t.Errorf("accept %d of %d: summary %+v", tc.accept, tc.count, res)
		}
		if _, txs, _ := f.counts(); txs != tc.count {
			t.Errorf("accept %d of %d: the node got %d transfers", tc.accept, tc.count, txs)
		}
		if rejected > 0 && (!strings.Contains(r.err.String(), fmt.Sprintf("%d of %d transfers were not accepted", rejected, tc.count)) ||
			!strings.Contains(r.err.String(), "mempool is full")) {
			t.Errorf("accept %d of %d: stderr %q", tc.accept, tc.count, r.err.String())
		}
	}
}

// TestNodeError: how a failed call reads.
func TestNodeError(t *testing.T) {
	c := api.NewClient("http://127.0.0.1:1", nil)
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	apiErr := &api.APIError{Status: 400, Code: "bad_nonce", Message: "nonce 3, want 4"}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{apiErr, "nonce 3, want 4"},
		{fmt.Errorf("wrapped: %w", apiErr), "wrapped: nonce 3, want 4"},
		{fmt.Errorf(`Get "http://127.0.0.1:1/v1/status": %w`, dial), "no node answers at http://127.0.0.1:1; start it with node run (connect: connection refused)"},
		{&net.DNSError{Err: "no such host", Name: "nope", IsNotFound: true}, "no answer from the node at http://127.0.0.1:1"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "the node at http://127.0.0.1:1 did not answer in time"},
		{&net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, "no answer from the node at http://127.0.0.1:1"},
	} {
		if got := nodeError(c, tc.err).Error(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("nodeError(%v) = %q, want %q...", tc.err, got, tc.want)
		}
	}
	if nodeError(c, nil) != nil {
		t.Error("nodeError(nil) is not nil")
	}
	var nn *noNodeError
	if !errors.As(nodeError(c, dial), &nn) || nodeError(c, nodeError(c, dial)).Error() != nodeError(c, dial).Error() {
		t.Error("a noNodeError is not kept as it is")
	}
}

// TestPeersImportErrorsInWords: a bad bundle file is refused naming the field and the format.
func TestPeersImportErrorsInWords(t *testing.T) {
	dir := t.TempDir()
	home, _ := initHome(t, dir, "a")
	good := decode[map[string]any](t, cli(t, "peers", "export", "--home", home).want(t, exitOK))
	for _, tc := range []struct {
		peers any
		want  string
	}{
		{[]any{map[string]any{"id": somePeer(0).ID, "addr": "x"}}, `peers[0].addr: want HOST:PORT (a host name or IP address, a colon and a port from 1 to 65535), got "x"`},
		{[]any{map[string]any{"id": somePeer(0).ID, "addr": "127.0.0.1:1"}, map[string]any{"id": "xyz", "addr": "127.0.0.1:2"}}, `peers[1].id: want the node id, 64 hex characters, got "xyz"`},
		{[]any{map[string]any{"id": somePeer(0).ID, "addr": "127.0.0.1:1", "last_seen": "today"}}, `peers[0].last_seen: want a time in RFC 3339 form`},
		{"all of them", `peers: want a list of peers, each {"id", "addr", "last_seen"}, got a string "all of them"`},
	} {
		b := map[string]any{}
		for k, v := range good {
			b[k] = v
		}
		b["peers"] = tc.peers
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r := cli(t, "peers", "import", "--home", home, file)
		if r.code != exitFailure || !strings.Contains(r.err.String(), tc.want) {
			t.Errorf("import %s: exit %d, stderr %q; want %q", data, r.code, r.err.String(), tc.want)
		}
	}
}
