package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/api"
)

// fakeTxs is a node's GET /v1/txs/{hash} that confirms every transfer but the ones in lost, and
// counts the requests.
type fakeTxs struct {
	mu       sync.Mutex
	lost     map[string]bool
	requests int
}

func (f *fakeTxs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, ok := strings.CutPrefix(r.URL.Path, "/v1/txs/")
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	f.requests++
	confirmed := !f.lost[h]
	f.mu.Unlock()
	st := api.TxStatus{Hash: h, Status: "pending"}
	if confirmed {
		st.Status, st.BlockHash = "confirmed", "block-of-"+h
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

func fakeNetwork(t *testing.T, nodes int, lost map[string]bool) (*runner, []*fakeTxs) {
	t.Helper()
	r := &runner{hc: &http.Client{Timeout: submitTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * confirmWorkers}}}
	t.Cleanup(r.hc.CloseIdleConnections)
	var fakes []*fakeTxs
	for range nodes {
		f := &fakeTxs{lost: lost}
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

// TestCollectSeen: each node's view of each transfer is the block its GET /v1/txs/{hash}
// names; a transfer a node does not confirm is seen nowhere on it.
func TestCollectSeen(t *testing.T) {
	acked := hashes(500)
	lost := map[string]bool{acked[250]: true}
	r, fakes := fakeNetwork(t, 2, lost)
	seen := r.collectSeen(context.Background(), acked)
	for k := range seen {
		if _, ok := seen[k][acked[250]]; ok {
			t.Errorf("node%d: the lost transfer is reported confirmed", k)
		}
		if len(seen[k]) != len(acked)-1 {
			t.Errorf("node%d: %d transfers confirmed, want %d", k, len(seen[k]), len(acked)-1)
		}
		if got := seen[k][acked[17]]; got != "block-of-"+acked[17] {
			t.Errorf("node%d: transfer 17 confirmed in %q, want its block", k, got)
		}
		fakes[k].mu.Lock()
		if n := fakes[k].requests; n != len(acked) {
			t.Errorf("node%d: %d requests for %d transfers, want one each", k, n, len(acked))
		}
		fakes[k].mu.Unlock()
	}
}

// fakeChain is a node's GET /v1/status and GET /v1/blocks/{height} over a main chain the test
// changes; it counts the requests, and beforeBlock (when set) runs before each block is served.
type fakeChain struct {
	mu          sync.Mutex
	blocks      []api.Block // blocks[h-1]
	requests    int
	beforeBlock func(f *fakeChain, height int)
}

// extend appends one block per transfer list on branch name.
func (f *fakeChain) extend(branch string, txs ...[]string) {
	for _, hs := range txs {
		h := len(f.blocks) + 1
		b := api.Block{Hash: fmt.Sprintf("%s-%d", branch, h), Height: uint64(h), MainChain: true, Txs: []api.Tx{}}
		if h > 1 {
			b.PrevHash = f.blocks[h-2].Hash
		}
		for _, x := range hs {
			b.Txs = append(b.Txs, api.Tx{Hash: x})
		}
		f.blocks = append(f.blocks, b)
	}
}

func (f *fakeChain) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	var v any
	switch {
	case r.URL.Path == "/v1/status":
		st := map[string]any{"height": len(f.blocks), "tip_hash": ""}
		if len(f.blocks) > 0 {
			st["tip_hash"] = f.blocks[len(f.blocks)-1].Hash
		}
		v = st
	case strings.HasPrefix(r.URL.Path, "/v1/blocks/"):
		var h int
		if _, err := fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/v1/blocks/"), "%d", &h); err != nil {
			f.mu.Unlock()
			http.NotFound(w, r)
			return
		}
		if f.beforeBlock != nil {
			f.beforeBlock(f, h)
		}
		if h < 1 || h > len(f.blocks) {
			f.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"no block at that height","code":"not_found"}`))
			return
		}
		v = f.blocks[h-1]
	default:
		f.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeChain) served() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.requests
	f.requests = 0
	return n
}

func chainClient(t *testing.T, f *fakeChain) *api.Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	hc := &http.Client{Timeout: submitTimeout, Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	return api.NewClient(srv.URL, hc)
}

// TestChainViewFollowsReorgs: a view reads a chain once, then only what changed: new blocks,
// and after a reorg the blocks above the fork (found walking down from its old tip); transfers
// of blocks that left the main chain are no longer held; a reorg in the middle of a read makes
// the update fail with errChainMoved, and the next one gets it right.
func TestChainViewFollowsReorgs(t *testing.T) {
	f := &fakeChain{}
	f.extend("a", []string{"t1", "t2"}, []string{"t3"}, []string{"t4", "t5"}, []string{"t6"}, []string{"t7", "t8"})
	v := newChainView(chainClient(t, f))
	all := []string{"t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"}
	ctx := context.Background()

	if err := v.update(ctx); err != nil {
		t.Fatal(err)
	}
	if got := v.missing(all); got != 1 {
		t.Fatalf("after the first read %d transfers missing, want 1 (t9)", got)
	}
	if n := f.served(); n != 1+5 {
		t.Errorf("the first read made %d requests, want 6 (status and 5 blocks)", n)
	}

	// Nothing changed: the status and the tip's block.
	if err := v.update(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.served(); n != 2 {
		t.Errorf("a read of an unchanged chain made %d requests, want 2", n)
	}

	// A reorg at height 4: blocks 4 and 5 replaced by 4', 5', 6'; t7 and t8 go back to the
	// mempool, t9 and t6 are mined on the new branch.
	f.mu.Lock()
	f.blocks = f.blocks[:3]
	f.extend("b", []string{"t6", "t9"}, []string{}, []string{"t7"})
	f.mu.Unlock()
	if err := v.update(ctx); err != nil {
		t.Fatal(err)
	}
	if got := v.missing(all); got != 1 || v.count["t8"] != 0 || v.count["t7"] != 1 || v.count["t9"] != 1 {
		t.Fatalf("after the reorg: %d missing (want 1, t8), counts t7 %d t8 %d t9 %d", got, v.count["t7"], v.count["t8"], v.count["t9"])
	}
	// status, blocks 5, 4, 3 walking down (3 is the same), then 4, 5, 6 forward.
	if n := f.served(); n != 1+3+3 {
		t.Errorf("the read after the reorg made %d requests, want 7", n)
	}
	if want := []string{"a-1", "a-2", "a-3", "b-4", "b-5", "b-6"}; !slices.Equal(v.hashes, want) {
		t.Errorf("hashes %v, want %v", v.hashes, want)
	}

	// A reorg while the view reads forward: its next block names another parent.
	f.mu.Lock()
	f.extend("b", []string{"t8"})
	f.beforeBlock = func(f *fakeChain, h int) {
		if h == 7 {
			f.blocks = f.blocks[:5]
			f.extend("c", []string{}, []string{"t8"})
			f.beforeBlock = nil
		}
	}
	f.mu.Unlock()
	if err := v.update(ctx); !errors.Is(err, errChainMoved) {
		t.Fatalf("a reorg during the read: err %v, want errChainMoved", err)
	}
	if err := v.update(ctx); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a-1", "a-2", "a-3", "b-4", "b-5", "c-6", "c-7"}; !slices.Equal(v.hashes, want) {
		t.Errorf("hashes %v, want %v", v.hashes, want)
	}
	if got := v.missing(all); got != 1 || v.count["t7"] != 0 {
		t.Errorf("after the second reorg %d missing (want 1: t7), t7 held %d times", got, v.count["t7"])
	}
}

// TestAwaitConfirmedReadsBlocksNotTransfers: the wait follows each node's chain while it mines
// a backlog of 3,000 transfers in blocks of 50, returns once every node holds them all, and asks
// for blocks, not transfers: far fewer requests than transfers.
func TestAwaitConfirmedReadsBlocksNotTransfers(t *testing.T) {
	acked := hashes(3000)
	r := &runner{}
	var chains []*fakeChain
	start := time.Now()
	for range 3 {
		f := &fakeChain{}
		chains = append(chains, f)
		r.homes = append(r.homes, Home{})
		r.clients = append(r.clients, chainClient(t, f))
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the network mines: a block of 50 every 20 ms on every node
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < len(acked); i += 50 {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for _, f := range chains {
				f.mu.Lock()
				f.extend("m", acked[i:i+50])
				f.mu.Unlock()
			}
		}
	}()
	defer func() { close(stop); <-done }()
	if left := r.awaitConfirmed(context.Background(), acked, time.Now().Add(time.Minute)); left != 0 {
		t.Fatalf("the wait ended with %d transfers missing on some node, want 0", left)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("the wait took %v", d)
	}
	for k, f := range chains {
		if n := f.served(); n > 300 {
			t.Errorf("node%d: the wait made %d requests for 60 blocks of 3,000 transfers, want at most 300", k, n)
		}
	}
}

// TestAwaitConfirmedStopsAtDeadline: a transfer that no node ever holds keeps the wait to its
// deadline, which reports it missing.
func TestAwaitConfirmedStopsAtDeadline(t *testing.T) {
	acked := hashes(100)
	r := &runner{}
	for range 2 {
		f := &fakeChain{}
		f.extend("m", acked[:50], acked[51:])
		r.homes = append(r.homes, Home{})
		r.clients = append(r.clients, chainClient(t, f))
	}
	start := time.Now()
	if left := r.awaitConfirmed(context.Background(), acked, time.Now().Add(1500*time.Millisecond)); left != 1 {
		t.Errorf("the wait ended with %d transfers missing on some node, want 1", left)
	}
	if d := time.Since(start); d < time.Second || d > 20*time.Second {
		t.Fatalf("the wait with a lost transfer returned after %v, want its deadline (1.5 s)", d)
	}
}
