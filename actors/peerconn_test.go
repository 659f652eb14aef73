package actors

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/chainstate"
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
