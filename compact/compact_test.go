package compact

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"testing"

	"github.com/dchest/siphash"
	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/noisep2p"
)

// testTx is a transaction whose fields come from n (its signature is not valid; nothing here
// checks it).
func testTx(n uint64) *chainstate.Tx {
	tx := &chainstate.Tx{ChainID: "test", Amount: n, Fee: 1, Nonce: n}
	binary.BigEndian.PutUint64(tx.From[:], n)
	binary.BigEndian.PutUint64(tx.Sig[:], n*7)
	return tx
}

func testBlock(n int, seed uint64) *chainstate.Block {
	b := &chainstate.Block{Header: chainstate.Header{Version: 1, Height: 5, Time: seed}}
	for i := range n {
		b.Txs = append(b.Txs, testTx(seed*1_000_000+uint64(i)))
	}
	b.Header.TxRoot = chainstate.TxRoot(b.Txs)
	return b
}

// pool is a mempool view: hash -> transaction.
func pool(txs ...*chainstate.Tx) map[chainstate.Hash]*chainstate.Tx {
	m := map[chainstate.Hash]*chainstate.Tx{}
	for _, tx := range txs {
		m[tx.Hash()] = tx
	}
	return m
}

// reconstruct runs the receiver's side over the wire encodings: decode, match the pool, ask for
// the missing (answered by the sender's block), fill, take the block. asked is how many
// transactions went into the GetBlockTxn.
func reconstruct(t interface{ Fatalf(string, ...any) }, sender *chainstate.Block, m noisep2p.CmpctBlock, view map[chainstate.Hash]*chainstate.Tx) (b *chainstate.Block, asked int, err error) {
	wire, err := noisep2p.DecodeCmpctBlock(m.Encode())
	if err != nil {
		t.Fatalf("decode own cmpctblock: %v", err)
	}
	p, err := NewPartial(wire)
	if err != nil {
		return nil, 0, err
	}
	p.Fill(Match(p.Key, p.ShortIDs(), maps.All(view)))
	if miss := p.Missing(); len(miss) > 0 {
		req, err := noisep2p.DecodeGetBlockTxn(noisep2p.GetBlockTxn{Hash: p.Hash, Indexes: miss}.Encode())
		if err != nil {
			t.Fatalf("decode own getblocktxn: %v", err)
		}
		ans, err := Txn(sender, req.Indexes)
		if err != nil {
			t.Fatalf("answer getblocktxn: %v", err)
		}
		back, err := noisep2p.DecodeBlockTxn(ans.Encode())
		if err != nil {
			t.Fatalf("decode own blocktxn: %v", err)
		}
		if err := p.FillTxn(back); err != nil {
			return nil, len(miss), err
		}
		asked = len(miss)
	}
	b, _, err = p.Block()
	return b, asked, err
}

// TestSipHashVector pins the library to the SipHash-2-4 paper's test vector (key 00..0f, message
// 00..0e) and NewKey/ShortID to the vector docs/protocol.md publishes.
func TestSipHashVector(t *testing.T) {
	msg := make([]byte, 15)
	for i := range msg {
		msg[i] = byte(i)
	}
	if got := siphash.Hash(0x0706050403020100, 0x0f0e0d0c0b0a0908, msg); got != 0xa129ca6149be45e5 {
		t.Fatalf("SipHash-2-4 of the paper's vector = %016x", got)
	}
	var block, tx chainstate.Hash
	for i := range block {
		block[i], tx[i] = byte(i), byte(0x20+i)
	}
	k := NewKey(block, 1)
	if k.K0 != 0x88177a6d38c46160 || k.K1 != 0xe66feeb2e8e252ba {
		t.Fatalf("key = %016x %016x", k.K0, k.K1)
	}
	if id := k.ShortID(tx); id != 0x1514e7738afe {
		t.Fatalf("short id = %012x", id)
	}
	if NewKey(block, 2) == k {
		t.Fatal("the nonce does not change the key")
	}
}

func TestReconstruct(t *testing.T) {
	b := testBlock(10, 1)
	hs := Hashes(b)
	all := func(chainstate.Hash) bool { return true }
	none := func(chainstate.Hash) bool { return false }
	others := pool(testTx(99), testTx(98))
	for _, tc := range []struct {
		name      string
		known     func(chainstate.Hash) bool
		view      map[chainstate.Hash]*chainstate.Tx
		prefilled int
		asked     int
	}{
		{"warm: every tx known and pooled", all, pool(append(b.Txs, others[testTx(99).Hash()])...), 0, 0},
		{"cold: nothing known, all prefilled", none, others, 10, 0},
		{"known but not pooled: asked for", all, pool(b.Txs[:7]...), 0, 3},
		{"half known", func(h chainstate.Hash) bool { return h == hs[0] || h == hs[9] }, pool(b.Txs[0]), 8, 1},
		{"empty pool", all, nil, 0, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Build(b, hs, 42, tc.known)
			if len(m.Prefilled) != tc.prefilled {
				t.Fatalf("%d prefilled, want %d", len(m.Prefilled), tc.prefilled)
			}
			got, asked, err := reconstruct(t, b, m, tc.view)
			if err != nil {
				t.Fatalf("reconstruct: %v", err)
			}
			if asked != tc.asked {
				t.Fatalf("asked for %d, want %d", asked, tc.asked)
			}
			if !bytes.Equal(got.Encode(), b.Encode()) {
				t.Fatal("reconstructed block differs")
			}
		})
	}
	empty := testBlock(0, 2)
	if got, _, err := reconstruct(t, empty, Build(empty, nil, 1, all), nil); err != nil || got.Hash() != empty.Hash() {
		t.Fatalf("empty block: %v", err)
	}
}

func TestReconstructFailures(t *testing.T) {
	b := testBlock(6, 3)
	hs := Hashes(b)
	all := func(chainstate.Hash) bool { return true }

	// Two equal short ids: a collision, the full block is needed.
	m := Build(b, hs, 1, all)
	m.ShortIDs[4] = m.ShortIDs[1]
	if _, err := NewPartial(m); !errors.Is(err, ErrCollision) {
		t.Fatalf("equal short ids: %v", err)
	}

	// A pool transaction that matched the wrong slot: the root does not match.
	p, err := NewPartial(Build(b, hs, 1, all))
	if err != nil {
		t.Fatal(err)
	}
	var wrong []Found
	for i, tx := range b.Txs {
		wrong = append(wrong, Found{Tx: tx, Hash: hs[i]})
	}
	wrong[2] = Found{Tx: testTx(12345), Hash: testTx(12345).Hash()}
	p.Fill(wrong)
	if _, _, err := p.Block(); !errors.Is(err, ErrRootMismatch) {
		t.Fatalf("wrong transaction: %v", err)
	}

	// A BlockTxn with the wrong count or an undecodable transaction.
	p, _ = NewPartial(Build(b, hs, 1, all))
	p.Fill([]Found{{b.Txs[0], hs[0]}, {b.Txs[1], hs[1]}, {b.Txs[2], hs[2]}, {b.Txs[3], hs[3]}})
	if err := p.FillTxn(noisep2p.BlockTxn{Txs: [][]byte{b.Txs[4].Encode()}}); !errors.Is(err, ErrBadTxn) {
		t.Fatalf("short blocktxn: %v", err)
	}
	if err := p.FillTxn(noisep2p.BlockTxn{Txs: [][]byte{b.Txs[4].Encode(), {1, 2, 3}}}); !errors.Is(err, ErrBadTxn) {
		t.Fatalf("undecodable blocktxn: %v", err)
	}
	if len(p.Missing()) != 2 {
		t.Fatalf("a refused blocktxn filled slots: %d missing", len(p.Missing()))
	}
	if _, _, err := p.Block(); err == nil {
		t.Fatal("block with missing transactions")
	}

	// Undecodable header or prefilled transaction.
	bad := Build(b, hs, 1, func(chainstate.Hash) bool { return false })
	bad.Prefilled[3].Raw = []byte{1}
	if _, err := NewPartial(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad prefilled: %v", err)
	}
	badHdr := Build(b, hs, 1, all)
	badHdr.Header = [noisep2p.CmpctHeaderSize]byte{}
	badHdr.Header[3] = 1
	if _, err := NewPartial(badHdr); err != nil {
		t.Fatalf("a header decodes whatever its fields: %v", err)
	}

	// GetBlockTxn past the block.
	if _, err := Txn(b, []uint32{1, 6}); !errors.Is(err, ErrBadIndex) {
		t.Fatalf("index past the block: %v", err)
	}
}

func TestMatchAmbiguous(t *testing.T) {
	a, b := testTx(1), testTx(2)
	k := Key{K0: 1, K1: 2}
	ids := []uint64{k.ShortID(a.Hash()), k.ShortID(b.Hash()), 77}
	got := Match(k, ids, maps.All(pool(a, b)))
	if got[0].Tx != a || got[0].Hash != a.Hash() || got[1].Tx != b || got[2].Tx != nil {
		t.Fatalf("match = %v", got)
	}
	// Two pool transactions under one id (forced: a pool view keyed by two hashes with one id
	// cannot be made by chance): the id is ambiguous, so it is asked for.
	h1, h2 := a.Hash(), b.Hash()
	seq := func(yield func(chainstate.Hash, *chainstate.Tx) bool) {
		_ = yield(h1, a) && yield(h1, b) && yield(h2, b)
	}
	got = Match(k, ids[:2], seq)
	if got[0].Tx != nil || got[1].Tx != b {
		t.Fatalf("ambiguous match = %v", got)
	}
}

// TestReconstructProperty: for any block, any set of transactions the sender thinks the peer has
// and any pool the receiver holds (a subset of the block plus others), reconstruction over the
// wire gives the block back exactly, asks for exactly the known-but-not-pooled transactions, and
// a fully warm compact block is at most 0.1 of the full block's size.
func TestReconstructProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 300).Draw(t, "txs")
		b := testBlock(n, rapid.Uint64Range(1, 1<<20).Draw(t, "seed"))
		hs := Hashes(b)
		if chainstate.TxRootOfHashes(hs) != chainstate.TxRoot(b.Txs) {
			t.Fatal("TxRootOfHashes differs from TxRoot")
		}
		knownMask := rapid.SliceOfN(rapid.Bool(), n, n).Draw(t, "known")
		pooledMask := rapid.SliceOfN(rapid.Bool(), n, n).Draw(t, "pooled")
		known := map[chainstate.Hash]bool{}
		view := pool(testTx(1<<40), testTx(1<<41))
		wantAsked := 0
		for i, h := range hs {
			known[h] = knownMask[i]
			if pooledMask[i] {
				view[h] = b.Txs[i]
			} else if knownMask[i] {
				wantAsked++
			}
		}
		m := Build(b, hs, rapid.Uint64().Draw(t, "nonce"), func(h chainstate.Hash) bool { return known[h] })
		got, asked, err := reconstruct(t, b, m, view)
		if err != nil {
			if errors.Is(err, ErrCollision) {
				t.Skip("a 48-bit collision") // about n²/2^49: never seen at these sizes
			}
			t.Fatalf("reconstruct: %v", err)
		}
		if asked != wantAsked {
			t.Fatalf("asked for %d, want %d", asked, wantAsked)
		}
		if !bytes.Equal(got.Encode(), b.Encode()) {
			t.Fatal("reconstructed block differs")
		}
		if warm := Build(b, hs, 1, func(chainstate.Hash) bool { return true }); n >= 100 && len(warm.Encode())*10 > len(b.Encode()) {
			t.Fatalf("warm compact block %d bytes for a %d-byte block", len(warm.Encode()), len(b.Encode()))
		}
	})
}

// FuzzPartial: any cmpctblock payload and any blocktxn payload go through reconstruction without
// a panic; whatever reconstructs matches its header's tx root.
func FuzzPartial(f *testing.F) {
	b := testBlock(4, 9)
	hs := Hashes(b)
	m := Build(b, hs, 3, func(h chainstate.Hash) bool { return h != hs[2] })
	txn, _ := Txn(b, []uint32{0, 1, 3})
	f.Add(m.Encode(), txn.Encode())
	f.Add(Build(b, hs, 3, func(chainstate.Hash) bool { return false }).Encode(), []byte{})
	f.Fuzz(func(t *testing.T, cb, bt []byte) {
		wire, err := noisep2p.DecodeCmpctBlock(cb)
		if err != nil {
			return
		}
		p, err := NewPartial(wire)
		if err != nil {
			return
		}
		if len(p.Missing()) > wire.TxCount() {
			t.Fatalf("%d missing of %d", len(p.Missing()), wire.TxCount())
		}
		if txn, err := noisep2p.DecodeBlockTxn(bt); err == nil {
			_ = p.FillTxn(txn)
		}
		if blk, _, err := p.Block(); err == nil && chainstate.TxRoot(blk.Txs) != blk.Header.TxRoot {
			t.Fatal("a block that does not match its root")
		}
	})
}

// TestHeaderSize: the CmpctBlock header field is the canonical header encoding.
func TestHeaderSize(t *testing.T) {
	if noisep2p.CmpctHeaderSize != chainstate.HeaderSize {
		t.Fatalf("CmpctHeaderSize %d, chainstate.HeaderSize %d", noisep2p.CmpctHeaderSize, chainstate.HeaderSize)
	}
}
