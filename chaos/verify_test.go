package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/api"
)

// fakeMiner is a node's GET /v1/txs/{hash} that confirms the transfers in the order they were
// acknowledged, perSecond of them a second from its start (a network mining a backlog), and
// never the ones in lost. It counts the requests.
type fakeMiner struct {
	mu        sync.Mutex
	order     map[string]int // hash -> position in the acknowledged order
	start     time.Time
	perSecond float64
	lost      map[string]bool
	requests  int
}

func (f *fakeMiner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, ok := strings.CutPrefix(r.URL.Path, "/v1/txs/")
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	f.requests++
	pos, known := f.order[h]
	confirmed := known && float64(pos) < time.Since(f.start).Seconds()*f.perSecond && !f.lost[h]
	f.mu.Unlock()
	st := api.TxStatus{Hash: h, Status: "pending"}
	if confirmed {
		st.Status, st.BlockHash = "confirmed", "block-of-"+h
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

func fakeNetwork(t *testing.T, acked []string, nodes int, perSecond float64, lost map[string]bool) (*runner, []*fakeMiner) {
	t.Helper()
	r := &runner{hc: &http.Client{Timeout: submitTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * confirmWorkers}}}
	t.Cleanup(r.hc.CloseIdleConnections)
	var fakes []*fakeMiner
	for range nodes {
		f := &fakeMiner{order: map[string]int{}, start: time.Now(), perSecond: perSecond, lost: lost}
		for i, h := range acked {
			f.order[h] = i
		}
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		fakes = append(fakes, f)
		r.homes = append(r.homes, Home{API: srv.URL})
		r.clients = append(r.clients, api.NewClient(srv.URL, r.hc))
	}
	return r, fakes
}

func hashes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%064x", i)
	}
	return out
}

// TestAwaitConfirmedAsksEachTransferAboutOnce: while the network mines a backlog, the wait asks
// each node about each acknowledged transfer about once (a round stops at the first chunk with
// an unconfirmed transfer), returns as soon as every node confirms everything, and collectSeen
// then reports each transfer's block on every node.
func TestAwaitConfirmedAsksEachTransferAboutOnce(t *testing.T) {
	acked := hashes(3000)
	r, fakes := fakeNetwork(t, acked, 3, 1500, nil) // mined in 2 s
	start := time.Now()
	if left := r.awaitConfirmed(context.Background(), acked, time.Now().Add(time.Minute)); left != 0 {
		t.Errorf("the wait ended with %d transfers unconfirmed, want 0", left)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("the wait took %v", d)
	}
	seen := r.collectSeen(context.Background(), acked)
	for k, f := range fakes {
		if len(seen[k]) != len(acked) {
			t.Errorf("node%d: %d of %d transfers seen confirmed after the wait", k, len(seen[k]), len(acked))
		}
		if got := seen[k][acked[17]]; got != "block-of-"+acked[17] {
			t.Errorf("node%d: transfer 17 confirmed in %q, want its block", k, got)
		}
		f.mu.Lock()
		asked := f.requests - len(acked) // collectSeen asked about each once
		f.mu.Unlock()
		// Each transfer once, plus each round's unconfirmed chunk again (a round every 500 ms
		// over the 2 s the backlog takes). Asking every unconfirmed transfer every round would
		// ask about twice as many.
		if limit := len(acked) * 3 / 2; asked > limit {
			t.Errorf("node%d: the wait made %d requests for %d transfers, want at most %d", k, asked, len(acked), limit)
		}
		t.Logf("node%d: the wait made %d requests for %d transfers", k, asked, len(acked))
	}
}

// TestAwaitConfirmedStopsAtDeadline: a transfer that no node ever confirms (lost) keeps the wait
// to its deadline, and collectSeen reports it as seen nowhere while it reports the others.
func TestAwaitConfirmedStopsAtDeadline(t *testing.T) {
	acked := hashes(500)
	lost := map[string]bool{acked[250]: true}
	r, _ := fakeNetwork(t, acked, 2, 1e6, lost)
	start := time.Now()
	// The lost one and those after it in its node's order, which the wait did not ask about
	// again once it met the lost one.
	if left := r.awaitConfirmed(context.Background(), acked, time.Now().Add(1500*time.Millisecond)); left < 1 || left > 250 {
		t.Errorf("the wait ended with %d transfers not seen confirmed on some node, want 1 to 250 (the lost one is number 250 of 500)", left)
	}
	if d := time.Since(start); d < time.Second || d > 20*time.Second {
		t.Fatalf("the wait with a lost transfer returned after %v, want its deadline (1.5 s)", d)
	}
	seen := r.collectSeen(context.Background(), acked)
	for k := range seen {
		if _, ok := seen[k][acked[250]]; ok {
			t.Errorf("node%d: the lost transfer is reported confirmed", k)
		}
		if len(seen[k]) != len(acked)-1 {
			t.Errorf("node%d: %d transfers confirmed, want %d", k, len(seen[k]), len(acked)-1)
		}
	}
}
