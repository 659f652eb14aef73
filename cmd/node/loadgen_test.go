package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorchain/actorchain/api"
)

// txServer answers POST /v1/txs with 202 and a hash made of the transfer's nonce, or 400 for the
// nonces in refuse; it counts the connections it accepted. closeEach answers "Connection: close".
func txServer(t *testing.T, refuse map[uint64]bool, closeEach bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var tx api.Tx
		if r.Method != http.MethodPost || r.URL.Path != "/v1/txs" || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&tx) != nil {
			http.Error(w, `{"error":"bad request","code":"malformed"}`, http.StatusBadRequest)
			return
		}
		if closeEach {
			w.Header().Set("Connection", "close")
		}
		w.Header().Set("Content-Type", "application/json")
		if refuse[tx.Nonce] {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"nonce %d refused","code":"bad_nonce"}`, tx.Nonce)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"hash":"h%d"}`, tx.Nonce)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// TestLoadConnKeepsItsConnection: each worker sends all its transfers over one connection and
// gets each transfer's own answer; the node's refusals come back as *api.APIError, without
// closing the connection.
func TestLoadConnKeepsItsConnection(t *testing.T) {
	srv, conns := txServer(t, map[uint64]bool{7: true}, false)
	const workers, each = 4, 50
	subs, done := loadSubmitters(api.NewClient(srv.URL, nil), workers)
	defer done()
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				nonce := uint64(w*each + i)
				hash, err := subs[w](context.Background(), api.Tx{Nonce: nonce})
				var ae *api.APIError
				switch {
				case nonce == 7 && (!errors.As(err, &ae) || ae.Code != "bad_nonce" || ae.Status != 400 || ae.Error() != "nonce 7 refused"):
					errs[w] = fmt.Errorf("nonce 7: %v, want the node's bad_nonce", err)
				case nonce != 7 && (err != nil || hash != fmt.Sprintf("h%d", nonce)):
					errs[w] = fmt.Errorf("nonce %d: %q, %v", nonce, hash, err)
				}
				if errs[w] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != workers {
		t.Errorf("%d connections for %d workers", n, workers)
	}
}

// TestLoadConnRedials: a node that closes the connection after each answer gets a new one for
// the next transfer; a node that is gone is a dial error, which nodeError turns into "no node
// answers".
func TestLoadConnRedials(t *testing.T) {
	srv, conns := txServer(t, nil, true)
	c := api.NewClient(srv.URL, nil)
	subs, done := loadSubmitters(c, 1)
	defer done()
	for i := range uint64(5) {
		if hash, err := subs[0](context.Background(), api.Tx{Nonce: i}); err != nil || hash != fmt.Sprintf("h%d", i) {
			t.Fatalf("transfer %d: %q, %v", i, hash, err)
		}
	}
	if n := conns.Load(); n != 5 {
		t.Errorf("%d connections for 5 answers that closed theirs", n)
	}
	srv.Close()
	_, err := subs[0](context.Background(), api.Tx{Nonce: 9})
	if err == nil || !strings.Contains(nodeError(c, err).Error(), "no node answers at "+srv.URL) {
		t.Errorf("after the node stopped: %v (nodeError: %v)", err, nodeError(c, err))
	}
}

// TestLoadConnBounded: a node that never answers holds a transfer no longer than its context.
func TestLoadConnBounded(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	c := api.NewClient(srv.URL, nil)
	subs, done := loadSubmitters(c, 1)
	defer done()
	for _, bounded := range []func() (context.Context, context.CancelFunc){
		func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		},
		func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			return ctx, cancel
		},
	} {
		ctx, cancel := bounded()
		t0 := time.Now()
		_, err := subs[0](ctx, api.Tx{})
		cancel()
		var ne net.Error
		if err == nil || !errors.Is(err, ctx.Err()) && !(errors.As(err, &ne) && ne.Timeout()) || time.Since(t0) > 5*time.Second {
			t.Errorf("after %v: %v, want the context's end", time.Since(t0), err)
		}
	}
}

// TestOneProc: the load generator runs on one P and gives the setting back after, unless the
// GOMAXPROCS environment variable chose one.
func TestOneProc(t *testing.T) {
	prev := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(prev)
	restore := oneProc()
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("GOMAXPROCS during the load = %d, want 1", got)
	}
	restore()
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("GOMAXPROCS after the load = %d, want 2 back", got)
	}
	t.Setenv("GOMAXPROCS", "2")
	restore = oneProc()
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("GOMAXPROCS=2 in the environment: GOMAXPROCS during the load = %d, want 2", got)
	}
	restore()
}
