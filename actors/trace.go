package actors

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/actorchain/actorchain/chainstate"
)

// commitTrace writes one JSON line per committed storage write that moves transactions into or
// out of the mempool bucket (Options.CommitTrace): a mempool group commit (its id, the bbolt
// transaction id, the hashes added and removed), a block connect (height, hash, the block's
// transaction hashes) and a reorg (the blocks disconnected and connected, the transactions
// returned). With the submitter's own record of each acknowledgement it names, for any
// transaction, the commit that made it durable and the write that later took it out of the
// mempool, so that a lost acknowledgement, if one ever shows, says where it happened. A line is
// written after its commit returns: the last commit before a kill -9 may have none.
type commitTrace struct {
	mu  sync.Mutex
	w   io.Writer // nil: tracing off
	now func() time.Time
}

// traceRecord is one line of the trace.
type traceRecord struct {
	TimeMs       int64    `json:"t"`
	Op           string   `json:"op"` // mempool | connect | reorg
	TxID         uint64   `json:"txid"`
	Commit       uint64   `json:"commit,omitempty"` // the mempool's group commit id (0: a prune)
	Height       uint64   `json:"height,omitempty"`
	Block        string   `json:"block,omitempty"`
	Add          []string `json:"add,omitempty"`
	Remove       []string `json:"remove,omitempty"`
	Txs          []string `json:"txs,omitempty"`
	Disconnected []string `json:"disconnected,omitempty"`
	Connected    []string `json:"connected,omitempty"`
	Returned     []string `json:"returned,omitempty"`
}

func (c *commitTrace) on() bool { return c != nil && c.w != nil }

func (c *commitTrace) write(r *traceRecord) {
	r.TimeMs = c.now().UnixMilli()
	line, err := json.Marshal(r)
	if err != nil {
		return
	}
	line = append(line, '\n')
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = c.w.Write(line) // best effort: tracing never fails a write
}

func (c *commitTrace) mempool(txid, commit uint64, add []*chainstate.Tx, remove []chainstate.Hash) {
	if !c.on() {
		return
	}
	r := &traceRecord{Op: "mempool", TxID: txid, Commit: commit, Remove: hashStrings(remove)}
	for _, tx := range add {
		r.Add = append(r.Add, tx.Hash().String())
	}
	c.write(r)
}

func (c *commitTrace) connect(txid uint64, b *chainstate.Block) {
	if !c.on() {
		return
	}
	r := &traceRecord{Op: "connect", TxID: txid, Height: b.Header.Height, Block: b.Hash().String()}
	for _, tx := range b.Txs {
		r.Txs = append(r.Txs, tx.Hash().String())
	}
	c.write(r)
}

func (c *commitTrace) reorg(txid uint64, res *chainstate.ReorgResult, connect []*chainstate.Block) {
	if !c.on() {
		return
	}
	r := &traceRecord{Op: "reorg", TxID: txid, Disconnected: hashStrings(res.Disconnected), Connected: hashStrings(res.Connected)}
	for _, tx := range res.Returned {
		r.Returned = append(r.Returned, tx.Hash().String())
	}
	for _, b := range connect {
		for _, tx := range b.Txs {
			r.Txs = append(r.Txs, tx.Hash().String())
		}
	}
	c.write(r)
}

func hashStrings(hs []chainstate.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.String()
	}
	return out
}
