package actors

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/noisep2p"
)

// TestBlockQueueDedup is the regression test of a sync queue that grew without bound under a
// lossy link: every getblocks answer (one per orphan) appended the same hashes again, so the
// queue held each missing block many times over and the sync never caught up. The queue holds
// each hash at most once, in first-pushed order.
func TestBlockQueueDedup(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var q blockQueue
		var model []chainstate.Hash
		in := map[chainstate.Hash]bool{}
		for _, b := range rapid.SliceOf(rapid.ByteRange(0, 20)).Draw(t, "ops") {
			if b == 0 {
				h, ok := q.pop()
				if ok != (len(model) > 0) || ok && h != model[0] {
					t.Fatalf("pop %v %v, model %v", h, ok, model)
				}
				if ok {
					model = model[1:]
					delete(in, h)
				}
				continue
			}
			h := chainstate.Hash{b}
			if added := q.push(h); added == in[h] {
				t.Fatalf("push %x: added %v, already queued %v", b, added, in[h])
			}
			if !in[h] {
				in[h] = true
				model = append(model, h)
			}
			if q.len() != len(model) {
				t.Fatalf("len %d, model %d", q.len(), len(model))
			}
		}
	})
}

// TestMempoolAnswer: the empty answer to our GetMempool is not taken for an empty getblocks
// answer (which ends a sync round), and only one Inv is taken as the answer.
func TestMempoolAnswer(t *testing.T) {
	asked := time.Unix(1000, 0)
	tx := noisep2p.InvItem{Kind: invTx, Hash: chainstate.Hash{1}}
	block := noisep2p.InvItem{Kind: invBlock, Hash: chainstate.Hash{2}}
	for _, tc := range []struct {
		name      string
		asked     time.Time
		after     time.Duration
		items     []noisep2p.InvItem
		skip      bool
		stillOpen bool
	}{
		{"empty answer", asked, time.Second, nil, true, false},
		{"answer with transactions", asked, time.Second, []noisep2p.InvItem{tx}, false, false},
		{"a block announcement is not the answer", asked, time.Second, []noisep2p.InvItem{block}, false, true},
		{"a getblocks answer is not the answer", asked, time.Second, []noisep2p.InvItem{block, tx}, false, true},
		{"nothing asked: an empty inv is a getblocks answer", time.Time{}, time.Second, nil, false, false},
		{"too late: an empty inv is a getblocks answer", asked, mempoolAnswerWithin, nil, false, false},
	} {
		skip, still := mempoolAnswer(tc.asked, asked.Add(tc.after), tc.items)
		if skip != tc.skip || !still.IsZero() != tc.stillOpen {
			t.Errorf("%s: skip %v, still asked %v; want %v, %v", tc.name, skip, !still.IsZero(), tc.skip, tc.stillOpen)
		}
	}
	// After the answer, the next empty inv is a getblocks answer again.
	_, still := mempoolAnswer(asked, asked.Add(time.Second), nil)
	if skip, _ := mempoolAnswer(still, asked.Add(2*time.Second), nil); skip {
		t.Error("a second empty inv was taken for the mempool answer")
	}
}
