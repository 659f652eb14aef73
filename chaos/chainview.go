package chaos

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/actorchain/actorchain/api"
)

// errChainMoved: the node's main chain changed under a read of it (a reorg between two block
// requests); the next read starts again from where the view still agrees.
var errChainMoved = errors.New("the main chain changed during the read")

// chainView follows one node's main chain through its API (GET /v1/status, GET
// /v1/blocks/{height}): the hash of each block and the transfers in it. An update reads only
// what changed since the last one: from the highest height whose block is still the same (found
// walking down from the old tip; a block's hash commits to its parent's, so everything below is
// the same too) up to the node's tip. The convergence wait asks it whether a node confirms every
// acknowledged transfer: the blocks of a run, thousands, instead of the transfers, which a long
// or busy run acknowledges by the hundred thousand (TestChainViewFollowsReorgs).
type chainView struct {
	hashes []string       // hashes[h-1]: the block at height h
	txs    [][]string     // txs[h-1]: the transfers of that block
	count  map[string]int // transfer hash -> the blocks of the view that hold it
	client *api.Client
}

func newChainView(c *api.Client) *chainView {
	return &chainView{count: map[string]int{}, client: c}
}

// update brings the view to the node's main chain.
func (v *chainView) update(ctx context.Context) error {
	st, err := v.client.Status(ctx)
	if err != nil {
		return err
	}
	keep := min(len(v.hashes), int(st.Height))
	for keep > 0 {
		b, err := v.client.Block(ctx, strconv.Itoa(keep))
		if err != nil {
			return err
		}
		if b.Hash == v.hashes[keep-1] {
			break
		}
		keep--
	}
	v.truncate(keep)
	for h := keep + 1; h <= int(st.Height); h++ {
		b, err := v.client.Block(ctx, strconv.Itoa(h))
		if err != nil {
			return err
		}
		if b.Height != uint64(h) {
			return fmt.Errorf("asked for the block at height %d, got height %d", h, b.Height)
		}
		if h > 1 && b.PrevHash != v.hashes[h-2] {
			return errChainMoved
		}
		hs := make([]string, len(b.Txs))
		for i, t := range b.Txs {
			hs[i] = t.Hash
			v.count[t.Hash]++
		}
		v.hashes, v.txs = append(v.hashes, b.Hash), append(v.txs, hs)
	}
	return nil
}

// truncate drops the blocks above height keep.
func (v *chainView) truncate(keep int) {
	for _, hs := range v.txs[keep:] {
		for _, h := range hs {
			if v.count[h]--; v.count[h] <= 0 {
				delete(v.count, h)
			}
		}
	}
	v.hashes, v.txs = v.hashes[:keep], v.txs[:keep]
}

// missing counts the transfers of hashes that no block of the view holds.
func (v *chainView) missing(hashes []string) int {
	n := 0
	for _, h := range hashes {
		if v.count[h] == 0 {
			n++
		}
	}
	return n
}
