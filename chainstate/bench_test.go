package chainstate

import (
	"crypto/ed25519"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func BenchmarkTxEncode(b *testing.B) {
	tx := signedTx(testParams(nil), testKey(1), Address{1}, 5, 1, 0)
	buf := make([]byte, 0, MaxTxSize)
	b.ReportAllocs()
	for b.Loop() {
		buf = tx.AppendEncode(buf[:0])
	}
}

func BenchmarkTxDecode(b *testing.B) {
	enc := signedTx(testParams(nil), testKey(1), Address{1}, 5, 1, 0).Encode()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeTx(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHashWork(b *testing.B) {
	w := vectorHeader().WorkHeader()
	b.SetBytes(WorkHeaderSize)
	b.ReportAllocs()
	for b.Loop() {
		w[WorkNonceOffset]++
		_ = HashWork(&w)
	}
}

func BenchmarkVerifySig(b *testing.B) {
	tx := signedTx(testParams(nil), testKey(1), Address{1}, 5, 1, 0)
	b.ReportAllocs()
	for b.Loop() {
		if !tx.VerifySig() {
			b.Fatal("bad signature")
		}
	}
}

// block1000 is a block of 1,000 transfers by one sender, on parameters that allow it.
func block1000(b *testing.B) (*Params, *Block) {
	p := testParams(nil)
	p.MaxBlockTxs = 1000
	txs := make([]*Tx, 1000)
	for i := range txs {
		txs[i] = signedTx(p, testKey(1), Address{byte(i)}, 1, 0, uint64(i))
	}
	return p, rawBlock(b, p, testKey(7), txs, nil)
}

// BenchmarkCheckBlock1000 checks a 1000-tx block without a signature cache, so every signature
// is verified (in parallel across GOMAXPROCS).
func BenchmarkCheckBlock1000(b *testing.B) {
	p, blk := block1000(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckBlock(p, blk, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyBlock1000 executes a block of 1,000 transfers by 10 senders to 1,000 new
// addresses (a sync's block of the user-sync bench row) against an in-memory state.
func BenchmarkApplyBlock1000(b *testing.B) {
	p := testParams(nil)
	p.MaxBlockTxs = 1000
	state := AccountMap{}
	txs := make([]*Tx, 1000)
	for i := range txs {
		k := testKey(byte(100 + i%10))
		state[pubOf(k).Address()] = Account{Balance: 1 << 40}
		txs[i] = signedTx(p, k, Address{byte(i), byte(i >> 8), 1}, 1, 1, uint64(i/10))
	}
	root := StateRootOf(state)
	blk := &Block{Header: Header{Height: 1, Miner: pubOf(testKey(7))}, Txs: txs}
	if _, err := ApplyBlock(p, root, state, blk); err == nil {
		b.Fatal("a block without its state root applied")
	} else {
		o := newOverlay(state, len(txs))
		for _, tx := range txs {
			if err := o.applyTx(tx); err != nil {
				b.Fatal(err)
			}
		}
		if err := o.credit(blk.Header.Miner.Address(), p.BlockReward, uint64(len(txs))); err != nil {
			b.Fatal(err)
		}
		blk.Header.StateRoot = o.delta(root).StateRoot
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ApplyBlock(p, root, state, blk); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBlock1000(b *testing.B) {
	_, blk := block1000(b)
	raw := blk.Encode()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBlock(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeBlock1000 measures what a node serving a sync spends to read a stored
// 1,000-transfer block for the wire: decoded and encoded again (Block, then Encode), or its
// stored bytes (RawBlock). The body is stored in pieces, as the node stores it.
func BenchmarkServeBlock1000(b *testing.B) {
	p, blk := block1000(b)
	s, err := Open(filepath.Join(b.TempDir(), "chain.db"), p, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	h := blk.Hash()
	if err := s.db.Update(func(tx *bolt.Tx) error { return putBodyPieces(tx.Bucket(bucketBlocks), h, blk.Encode()) }); err != nil {
		b.Fatal(err)
	}
	b.Run("decode-encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			got, ok, err := s.Block(h)
			if err != nil || !ok || len(got.Encode()) == 0 {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if raw, ok, err := s.RawBlock(h); err != nil || !ok || len(raw) == 0 {
				b.Fatal(ok, err)
			}
		}
	})
}

// BenchmarkConnect measures Store.Connect of 100-tx blocks (one bbolt transaction each, with
// fsync), building and mining each block outside the timer.
func BenchmarkConnect(b *testing.B) {
	senders := make([]ed25519.PrivateKey, 100)
	alloc := map[Address]uint64{}
	for i := range senders {
		senders[i] = testKey(byte(100 + i))
		alloc[addrOf(senders[i])] = 1 << 40
	}
	p := testParams(alloc)
	p.PowBits = 1
	s, err := Open(filepath.Join(b.TempDir(), "chain.db"), p, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	miner := testKey(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		tip, err := s.Tip()
		if err != nil {
			b.Fatal(err)
		}
		txs := make([]*Tx, len(senders))
		for j, k := range senders {
			txs[j] = signedTx(p, k, Address{byte(j)}, 1, 1, uint64(i))
		}
		var blk *Block
		err = s.View(func(r AccountReader) error {
			blk = nextBlock(b, p, &tip.Header, r, miner, txs...)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.Connect(blk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyStdlib is the reference the performance goals are set against: one signature
// checked by the standard library's crypto/ed25519 (cofactorless; not the chain's rule).
func BenchmarkVerifyStdlib(b *testing.B) {
	tx := signedTx(testParams(nil), testKey(1), Address{1}, 5, 1, 0)
	msg := tx.SigningBytes()
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(tx.From[:], msg, tx.Sig[:]) {
			b.Fatal("bad signature")
		}
	}
}

// BenchmarkPutMempool measures one group commit of the mempool (14 transfers, the batch the
// ingest figure sees on average) into a bucket that grows with every op, fsync included: the
// storage share of durable ingest.
func BenchmarkPutMempool(b *testing.B) {
	p := testParams(nil)
	s, err := Open(filepath.Join(b.TempDir(), "chain.db"), p, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	key := testKey(1)
	const batch = 14
	var nonce uint64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		txs := make([]*Tx, batch)
		for j := range txs {
			txs[j] = signedTx(p, key, Address{1}, 1, 1, nonce)
			nonce++
		}
		b.StartTimer()
		if err := s.PutMempool(txs, nil); err != nil {
			b.Fatal(err)
		}
	}
}
