package resilience_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/errcode"
	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/actorchain/actorchain/supervisor"
)

// This file holds the helpers of the fault, lifecycle and binary tests: a transfer stream that
// records every acknowledged hash, log reading from an offset, tree and metrics readers.

// submitFunc submits one transfer. A nil error is an acknowledgement (202: durably stored); a
// non-empty code is a definitive rejection with that CONTRACT code; any other error leaves the
// outcome unknown (timeout, 503, connection refused) and the stream retries the same transfer.
type submitFunc func(ctx context.Context, tx *chainstate.Tx) (code string, err error)

func nodeSubmit(n *actors.Node) submitFunc {
	return func(ctx context.Context, tx *chainstate.Tx) (string, error) {
		_, err := n.SubmitTx(ctx, tx)
		// A transaction's rejection; the node's other coded errors (busy, storage_unavailable)
		// leave the outcome unknown.
		if rej, ok := errcode.Of(err); ok && slices.Contains(errcode.TxCodes, rej.Code) {
			return string(rej.Code), err
		}
		return "", err
	}
}

func apiSubmit(c *api.Client) submitFunc {
	return func(ctx context.Context, tx *chainstate.Tx) (string, error) {
		h, err := c.SubmitTx(ctx, api.TxFromChain(tx))
		var ae *api.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
			return string(ae.Code), err
		}
		if err == nil && h != tx.Hash().String() {
			return "", fmt.Errorf("node acknowledged hash %s, want %s", h, tx.Hash())
		}
		return "", err
	}
}

// txStream submits transfers with consecutive nonces from one key, one at a time, from a
// goroutine it owns, until stop. A transfer whose outcome is unknown is retried as is (the same
// bytes, so a retry of one that did get stored is a duplicate); a duplicate or an already used
// nonce moves on to the next nonce without counting as an acknowledgement.
type txStream struct {
	p      *chainstate.Params
	key    ed25519.PrivateKey
	to     chainstate.Address
	submit submitFunc

	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	mu         sync.Mutex
	acked      []chainstate.Hash
	ackTimes   []time.Time
	unexpected []string
	retries    int
}

func startStream(t *testing.T, p *chainstate.Params, key ed25519.PrivateKey, to chainstate.Address, nonce uint64, submit submitFunc) *txStream {
	s := &txStream{p: p, key: key, to: to, submit: submit, quit: make(chan struct{}), done: make(chan struct{})}
	go s.run(nonce)
	t.Cleanup(s.stop)
	return s
}

func (s *txStream) run(nonce uint64) {
	defer close(s.done)
	for {
		select {
		case <-s.quit:
			return
		default:
		}
		tx := transfer(s.p, s.key, s.to, 1, 1, nonce)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		code, err := s.submit(ctx, tx)
		cancel()
		s.mu.Lock()
		switch {
		case err == nil:
			s.acked = append(s.acked, tx.Hash())
			s.ackTimes = append(s.ackTimes, time.Now())
			nonce++
		case code == "duplicate" || (code == "bad_nonce" && strings.Contains(err.Error(), "already used")):
			nonce++
		case code != "":
			s.unexpected = append(s.unexpected, fmt.Sprintf("nonce %d: %s: %v", nonce, code, err))
			nonce++
		default:
			s.retries++
		}
		s.mu.Unlock()
		if err != nil {
			select {
			case <-s.quit:
				return
			case <-time.After(5 * time.Millisecond): // retry pacing, not synchronisation
			}
		}
	}
}

// stop ends the stream and joins its goroutine (idempotent).
func (s *txStream) stop() {
	s.stopOnce.Do(func() { close(s.quit) })
	<-s.done
}

func (s *txStream) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acked)
}

// result returns the acknowledged hashes, the unexpected rejections and the longest time between
// two consecutive acknowledgements.
func (s *txStream) result() (acked []chainstate.Hash, unexpected []string, maxGap time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 1; i < len(s.ackTimes); i++ {
		maxGap = max(maxGap, s.ackTimes[i].Sub(s.ackTimes[i-1]))
	}
	return append([]chainstate.Hash(nil), s.acked...), append([]string(nil), s.unexpected...), maxGap
}

// indexOf returns the index of the first record at or after from with message msg and actor
// name, or -1.
func indexOf(recs []testutil.Record, from int, msg, name string) int {
	for i := max(from, 0); i < len(recs); i++ {
		if recs[i]["msg"] == msg && recs[i]["actor"] == name {
			return i
		}
	}
	return -1
}

// flatten maps every actor of a tree snapshot by its full name (the root included).
func flatten(n supervisor.Node) map[string]supervisor.Node {
	out := map[string]supervisor.Node{}
	var walk func(n supervisor.Node)
	walk = func(n supervisor.Node) {
		out[n.Name] = n
		for _, k := range n.Children {
			walk(k)
		}
	}
	walk(n)
	return out
}

// allRunning reports whether every actor of the tree is running.
func allRunning(n supervisor.Node) bool {
	for _, a := range flatten(n) {
		if a.State != supervisor.StateRunning {
			return false
		}
	}
	return true
}

// scrapeRestarts scrapes the node's /metrics handler and returns actorchain_actor_restarts_total
// by actor.
func scrapeRestarts(t *testing.T, n *actors.Node) map[string]int {
	t.Helper()
	rec := httptest.NewRecorder()
	n.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics answered %d: %s", rec.Code, rec.Body.String())
	}
	out := map[string]int{}
	const prefix = `actorchain_actor_restarts_total{actor="`
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		name, val, ok := strings.Cut(rest, `"} `)
		if !ok {
			t.Fatalf("unparsable metrics line %q", line)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[name] = int(f)
	}
	return out
}

// height returns the committed height, or false while the node cannot say (storage restarting).
func (nd *node) height() (uint64, bool) {
	st, err := nd.n.Status(context.Background())
	if err != nil {
		return 0, false
	}
	return st.Height, true
}

// waitGrows waits until the height is above from.
func (nd *node) waitGrows(from uint64, d time.Duration, what string) uint64 {
	nd.t.Helper()
	var h uint64
	testutil.WaitFor(nd.t, d, what, func() bool {
		var ok bool
		h, ok = nd.height()
		return ok && h > from
	})
	return h
}

// heightStable fails unless the height stays the same for d (polled), and returns it.
func heightStable(t *testing.T, d time.Duration, get func() (uint64, error)) uint64 {
	t.Helper()
	h0, err := get()
	if err != nil {
		t.Fatalf("height: %v", err)
	}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		h, err := get()
		if err != nil {
			t.Fatalf("height: %v", err)
		}
		if h != h0 {
			t.Fatalf("height moved from %d to %d although mining is reported off", h0, h)
		}
		time.Sleep(10 * time.Millisecond) // polling an invariant over a window
	}
	return h0
}

// checkAcked fails unless every hash is known to the node as pending or confirmed.
func checkAcked(t *testing.T, acked []chainstate.Hash, lookup func(chainstate.Hash) (string, error)) (pending, confirmed int) {
	t.Helper()
	for i, h := range acked {
		st, err := lookup(h)
		if err != nil {
			// The position tells which nonce it carried for a single stream (acknowledgements come
			// in nonce order), which is what a rare failure needs to be traced.
			t.Fatalf("acknowledged transfer %s (acknowledgement %d of %d) lost: %v", h, i+1, len(acked), err)
		}
		switch st {
		case "pending":
			pending++
		case "confirmed":
			confirmed++
		default:
			t.Fatalf("acknowledged transfer %s has status %q", h, st)
		}
	}
	return pending, confirmed
}

func nodeLookup(n *actors.Node) func(chainstate.Hash) (string, error) {
	return func(h chainstate.Hash) (string, error) {
		info, err := n.Tx(context.Background(), h)
		if err != nil {
			return "", err
		}
		if info.Confirmed {
			return "confirmed", nil
		}
		return "pending", nil
	}
}

// dumpOnFailure logs the supervision tree and the log's lifecycle records when the test fails,
// before the node is stopped (cleanups run last-in first-out).
func (nd *node) dumpOnFailure() {
	t := nd.t
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		tree, _ := json.Marshal(nd.n.Actors())
		t.Logf("tree at failure: %s", tree)
		var b strings.Builder
		for _, r := range nd.log.Records() {
			switch r["msg"] {
			case "block connected", "block mined", "mempool commit", "http request", "actor panicked":
				continue
			}
			line, _ := json.Marshal(r)
			b.Write(line)
			b.WriteByte('\n')
		}
		s := b.String()
		if len(s) > 12000 {
			s = "..." + s[len(s)-12000:]
		}
		t.Logf("log at failure (block records left out):\n%s", s)
	})
}
