package chainstate

import (
	"bytes"
	"errors"
	"math/big"
	"testing"
)

// TestValueCheck: each known bucket's check accepts a value the store writes and refuses a bad
// key or value with ErrCorrupt; other buckets have no check.
func TestValueCheck(t *testing.T) {
	k := testKey(1)
	p := testParams(map[Address]uint64{addrOf(k): 1000})
	c := newChain(p)
	tx := signedTx(p, k, addrOf(testKey(2)), 5, 1, 0)
	b := c.add(t, testKey(3), tx)
	other := c.add(t, testKey(3))
	h, txh := b.Hash(), tx.Hash()
	entry := func(hdr Header) []byte {
		return encodeEntry(&IndexEntry{Header: hdr, Work: big.NewInt(7), Status: StatusSide})
	}
	noTxs := *b
	noTxs.Txs = nil
	peer := encodePeer(&PeerRecord{Addr: "127.0.0.1:9", LastSeen: 1, Source: "x"})
	id := make([]byte, 32)
	ak := addrOf(k)
	lo, hi := txh, h
	if bytes.Compare(lo[:], hi[:]) > 0 {
		lo, hi = hi, lo
	}
	chunk := func(hashes ...Hash) []byte { // a run's chunk of these entries, in this order
		var v []byte
		for i, th := range hashes {
			v = append(append(v, th[:]...), encodeTxLoc(TxLocation{BlockHash: h, Height: 1, Index: i})...)
		}
		return v
	}
	tests := []struct {
		name, bucket string
		k, v         []byte
		ok           bool
	}{
		{"index entry", "index", h[:], entry(b.Header), true},
		{"index short key", "index", h[:31], entry(b.Header), false},
		{"index entry of another header", "index", h[:], entry(other.Header), false},
		{"index entry short", "index", h[:], []byte{1, 2}, false},
		{"block", "blocks", h[:], b.Encode(), true},
		{"block under another hash", "blocks", txh[:], b.Encode(), false},
		{"block with other transactions", "blocks", h[:], noTxs.Encode(), false},
		{"block garbage", "blocks", h[:], []byte("junk"), false},
		{"main entry", "main", heightKey(1), h[:], true},
		{"main short key", "main", h[:7], h[:], false},
		{"main short value", "main", heightKey(1), h[:31], false},
		{"account", "accounts", ak[:], encodeAccount(Account{Balance: 3, Nonce: 1}), true},
		{"account short key", "accounts", h[:19], encodeAccount(Account{}), false},
		{"account short value", "accounts", ak[:], make([]byte, 15), false},
		{"undo", "undo", h[:], encodeUndo([]AccountChange{{Addr: addrOf(k)}}), true},
		{"undo short key", "undo", h[:5], encodeUndo(nil), false},
		{"undo bad length", "undo", h[:], make([]byte, 5), false},
		{"tx location", "txindex", txh[:], encodeTxLoc(TxLocation{BlockHash: h, Height: 1}), true},
		{"tx location short key", "txindex", txh[:1], encodeTxLoc(TxLocation{}), false},
		{"tx location short value", "txindex", txh[:], make([]byte, 43), false},
		{"mempool tx", "mempool", txh[:], tx.Encode(), true},
		{"mempool tx under another hash", "mempool", h[:], tx.Encode(), false},
		{"mempool garbage", "mempool", txh[:], []byte{0}, false},
		{"tx index chunk", "txruns", txh[:], chunk(txh), true},
		{"tx index chunk under another hash", "txruns", h[:], chunk(txh), false},
		{"tx index chunk in order", "txruns", lo[:], chunk(lo, hi), true},
		{"tx index chunk out of order", "txruns", hi[:], chunk(hi, lo), false},
		{"tx index chunk cut short", "txruns", txh[:], chunk(txh)[:70], false},
		{"peer", "peers", id, peer, true},
		{"peer short id", "peers", id[:31], peer, false},
		{"peer short value", "peers", id, []byte{0}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newBucketWalk([]byte(tc.bucket))
			if tc.bucket == "txruns" { // the runs' chunks are the values of its nested buckets
				w.check = w.nested
			}
			if w.check == nil {
				t.Fatalf("no check for bucket %s", tc.bucket)
			}
			err := w.check(tc.k, tc.v)
			if err == nil && w.finish != nil {
				err = w.finish()
			}
			if tc.ok && err != nil {
				t.Fatalf("good value refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v, want ErrCorrupt", err)
			}
		})
	}
	for _, name := range []string{"meta", "bans", "mempool_sender", "unknown"} {
		if newBucketWalk([]byte(name)).check != nil {
			t.Errorf("bucket %s has a check, want none", name)
		}
	}
}
