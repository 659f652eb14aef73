package chainstate

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"pgregory.net/rapid"
)

// The order ℓ of the prime subgroup, little-endian, as a signature's S encodes it.
var groupOrder = mustHex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")

// identity is the encoding of the neutral point (order 1): y = 1.
var identity = mustHex("0100000000000000000000000000000000000000000000000000000000000000")

// nonCanonicalIdentity encodes y = p + 1, which reduces to the neutral point: ZIP-215 accepts
// such encodings for A and R.
var nonCanonicalIdentity = mustHex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// drawSigItem draws a signature to check: usually an honest one, often with one part altered
// (signature R or S bits, message, key), sometimes S pushed past ℓ (S + ℓ, non-canonical),
// random bytes, or the small-order and non-canonical points where verification rules differ.
func drawSigItem(t *rapid.T, label string) (it sigItem, honest bool) {
	seed := rapid.SliceOfN(rapid.Byte(), ed25519.SeedSize, ed25519.SeedSize).Draw(t, label+" seed")
	priv := ed25519.NewKeyFromSeed(seed)
	msg := rapid.SliceOfN(rapid.Byte(), 0, 200).Draw(t, label+" msg")
	it = sigItem{pub: []byte(priv.Public().(ed25519.PublicKey)), msg: msg, sig: ed25519.Sign(priv, msg)}
	switch kind := rapid.IntRange(0, 9).Draw(t, label+" kind"); kind {
	case 0, 1, 2, 3:
		return it, true
	case 4: // flip a bit of the signature
		bit := rapid.IntRange(0, 64*8-1).Draw(t, label+" sig bit")
		it.sig[bit/8] ^= 1 << (bit % 8)
	case 5: // flip a bit of the message (or append a byte to an empty one)
		if len(it.msg) == 0 {
			it.msg = []byte{0}
		} else {
			bit := rapid.IntRange(0, len(it.msg)*8-1).Draw(t, label+" msg bit")
			it.msg = append([]byte(nil), it.msg...)
			it.msg[bit/8] ^= 1 << (bit % 8)
		}
	case 6: // flip a bit of the key
		bit := rapid.IntRange(0, 32*8-1).Draw(t, label+" key bit")
		it.pub = append([]byte(nil), it.pub...)
		it.pub[bit/8] ^= 1 << (bit % 8)
	case 7: // S + ℓ: same value mod ℓ, but not canonical
		it.sig = append(it.sig[:32:32], addLE(it.sig[32:], groupOrder)...)
	case 8: // random bytes
		it.pub = rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, label+" random key")
		it.sig = rapid.SliceOfN(rapid.Byte(), 64, 64).Draw(t, label+" random sig")
	case 9: // small-order and non-canonical points for A and R, S = 0
		pts := [][]byte{identity, nonCanonicalIdentity, it.pub}
		it.pub = rapid.SampledFrom(pts).Draw(t, label+" A")
		r := rapid.SampledFrom(pts).Draw(t, label+" R")
		it.sig = append(append([]byte(nil), r...), make([]byte, 32)...)
	}
	return it, false
}

// addLE returns a + b as little-endian 256-bit numbers (mod 2^256).
func addLE(a, b []byte) []byte {
	out := make([]byte, 32)
	carry := 0
	for i := range out {
		s := int(a[i]) + int(b[i]) + carry
		out[i] = byte(s)
		carry = s >> 8
	}
	return out
}

// verifyPlain is the reference rule: curve25519-voi's single ZIP-215 verification, the key
// decompressed every time (no expandedKeys).
func verifyPlain(it sigItem) bool {
	if len(it.pub) != voi.PublicKeySize || len(it.sig) != voi.SignatureSize {
		return false
	}
	return voi.VerifyWithOptions(it.pub, it.msg, it.sig, sigRule)
}

// serialFirstBad is the reference: the first item verifyPlain rejects, checked in order.
func serialFirstBad(items []sigItem) int {
	for i, it := range items {
		if !verifyPlain(it) {
			return i
		}
	}
	return len(items)
}

// TestVerifyAllAgreesWithSingle: batch verification (any batch size, any position of bad items)
// reports exactly the first item single verification rejects.
func TestVerifyAllAgreesWithSingle(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 80).Draw(t, "n")
		items := make([]sigItem, n)
		for i := range items {
			items[i], _ = drawSigItem(t, fmt.Sprint(i))
		}
		if got, want := verifyAll(items, 0), serialFirstBad(items); got != want {
			t.Fatalf("verifyAll = %d, serial verification first rejects %d", got, want)
		}
	})
}

func TestVerifyWorkers(t *testing.T) {
	tests := []struct {
		procs, busy, n, want int
	}{
		{2, 0, 1000, 2},  // alone: every core
		{2, 2, 1000, 1},  // another check holds both: one goroutine
		{2, 1, 1000, 1},  // one core free
		{2, 5, 1000, 1},  // oversubscribed: still one
		{8, 0, 1000, 8},  //
		{8, 3, 1000, 5},  //
		{8, 0, 3 * 8, 3}, // no more than n/minBatch
		{8, 0, minBatch, 1},
	}
	for _, tt := range tests {
		if got := verifyWorkers(tt.procs, tt.busy, tt.n); got != tt.want {
			t.Errorf("verifyWorkers(%d, %d, %d) = %d, want %d", tt.procs, tt.busy, tt.n, got, tt.want)
		}
	}
}

// TestVerifyAllConcurrent: checks running at once share the cores (each sees the others'
// workers) and still agree with single verification; the count of verifying goroutines is
// back to zero once they all return.
func TestVerifyAllConcurrent(t *testing.T) {
	items := make([]sigItem, 200)
	for i := range items {
		tx := signedTx(testParams(nil), testKey(byte(i%7+1)), Address{byte(i)}, 1, 0, uint64(i))
		items[i] = sigItem{pub: tx.From[:], msg: tx.SigningBytes(), sig: tx.Sig[:]}
	}
	bad := append([]sigItem(nil), items...)
	bad[150] = sigItem{pub: items[150].pub, msg: items[149].msg, sig: items[150].sig}
	var wg sync.WaitGroup
	got := make([]int, 8)
	for g := range got {
		wg.Go(func() {
			if g%2 == 0 {
				got[g] = verifyAll(items, g%3)
			} else {
				got[g] = verifyAll(bad, g%3)
			}
		})
	}
	wg.Wait()
	for g, v := range got {
		if want := []int{len(items), 150}[g%2]; v != want {
			t.Errorf("check %d: first bad %d, want %d", g, v, want)
		}
	}
	if n := verifying.Load(); n != 0 {
		t.Fatalf("%d verifying goroutines counted after every check returned", n)
	}
}

// TestVerifyChunkAgreesWithSingle checks one batch directly, where every entry's verdict of the
// batch verifier is compared with single verification.
func TestVerifyChunkAgreesWithSingle(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 40).Draw(t, "n")
		items := make([]sigItem, n)
		for i := range items {
			items[i], _ = drawSigItem(t, fmt.Sprint(i))
		}
		want := serialFirstBad(items)
		if want == n {
			want = -1
		}
		if got := verifyChunk(voi.NewBatchVerifierWithCapacity(n), items); got != want {
			t.Fatalf("verifyChunk = %d, serial verification first rejects %d", got, want)
		}
	})
}

// TestVerifySignatureAcceptsStdlib: every signature crypto/ed25519 makes verifies under the
// chain's rule, and where neither small-order nor non-canonical points are involved the rule
// agrees with crypto/ed25519 on altered signatures too.
func TestVerifySignatureAcceptsStdlib(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		it, honest := drawSigItem(t, "item")
		got := VerifySignature(it.pub, it.msg, it.sig)
		if honest && !got {
			t.Fatalf("honest signature rejected")
		}
		std := ed25519.Verify(it.pub, it.msg, it.sig)
		if std && !got {
			t.Fatalf("crypto/ed25519 accepts a signature the chain rejects")
		}
	})
}

// TestSignMatchesStdlib: the chain's signer makes exactly crypto/ed25519's signature.
func TestSignMatchesStdlib(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		priv := ed25519.NewKeyFromSeed(rapid.SliceOfN(rapid.Byte(), ed25519.SeedSize, ed25519.SeedSize).Draw(t, "seed"))
		msg := rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "msg")
		if got, want := sign(priv, msg), ed25519.Sign(priv, msg); !slices.Equal(got, want) {
			t.Fatalf("sign = %x, crypto/ed25519 = %x", got, want)
		}
	})
}

func BenchmarkSign(b *testing.B) {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	msg := make([]byte, TxFixedSize-64)
	for b.Loop() {
		sign(priv, msg)
	}
}

func TestVerifySignatureEdgeCases(t *testing.T) {
	k := testKey(3)
	pub := []byte(k.Public().(ed25519.PublicKey))
	msg := []byte("edge")
	sig := ed25519.Sign(k, msg)
	tests := []struct {
		name          string
		pub, msg, sig []byte
		want          bool
	}{
		{"honest", pub, msg, sig, true},
		{"S + ℓ is not canonical", pub, msg, append(sig[:32:32], addLE(sig[32:], groupOrder)...), false},
		{"short key", pub[:31], msg, sig, false},
		{"short signature", pub, msg, sig[:63], false},
		{"long signature", pub, msg, append(sig[:64:64], 0), false},
		// Small-order A and R with S = 0: [8]0·B = [8]R + [8]k·A holds for any message, so ZIP-215
		// accepts, and so does every node (single or batch): the rule is the same everywhere.
		{"identity A and R", identity, msg, append(append([]byte(nil), identity...), make([]byte, 32)...), true},
		{"non-canonical identity A and R", nonCanonicalIdentity, msg, append(append([]byte(nil), nonCanonicalIdentity...), make([]byte, 32)...), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifySignature(tt.pub, tt.msg, tt.sig); got != tt.want {
				t.Fatalf("VerifySignature = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCheckBlockAgreesWithSerial: CheckBlock's (and CheckBlockAlone's) batched, parallel, cached
// check of a block's transactions returns the same error (or none) as CheckTx on each transaction in order, and
// leaves exactly the transactions before the first failure cached.
func TestCheckBlockAgreesWithSerial(t *testing.T) {
	p := testParams(nil)
	p.MaxBlockTxs = 200
	keys := []ed25519.PrivateKey{testKey(1), testKey(2), testKey(3)}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 120).Draw(t, "n")
		txs := make([]*Tx, n)
		for i := range txs {
			k := rapid.SampledFrom(keys).Draw(t, "key")
			tx := signedTx(p, k, Address{byte(i)}, 1, 0, uint64(i))
			switch rapid.IntRange(0, 29).Draw(t, fmt.Sprint("fault ", i)) {
			case 0:
				tx.Sig[rapid.IntRange(0, 63).Draw(t, "sig byte")] ^= 1
			case 1:
				tx.Amount = 0
				tx.Sign(k)
			case 2:
				tx.ChainID = "other"
				tx.Sign(k)
			case 3:
				tx.Amount++ // signature no longer matches
			}
			txs[i] = tx
		}
		hashes := make([]Hash, n)
		for i, tx := range txs {
			hashes[i] = tx.Hash()
		}
		cache := NewSigCache(1000)
		for i := range txs {
			if rapid.IntRange(0, 3).Draw(t, fmt.Sprint("cached ", i)) == 0 && txs[i].VerifySig() {
				cache.Add(hashes[i])
			}
		}
		before := cache.Len()

		var want error
		firstBad := n
		for i, tx := range txs {
			if want = CheckTx(p, tx, nil); want != nil {
				firstBad = i
				break
			}
		}
		most := rapid.IntRange(0, 3).Draw(t, "most goroutines") // 0: all free cores; 1: CheckBlockAlone
		got := checkTxs(p, txs, hashes, cache, most)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("checkTxs = %v\nserial    = %v", got, want)
		}
		// Everything before the first failure verified, so it is cached; nothing after it is
		// added by this check (it may have been cached before).
		for i := range firstBad {
			if !cache.Contains(hashes[i]) {
				t.Fatalf("tx %d passed but is not cached", i)
			}
		}
		if cache.Len() > before+firstBad {
			t.Fatalf("cache grew by %d, at most %d txs passed", cache.Len()-before, firstBad)
		}
	})
}

// TestCheckBlockAloneVerifiesOnOneGoroutine: CheckBlockAlone checks a block as CheckBlock does,
// on at most one verifying goroutine, whatever the cores.
func TestCheckBlockAloneVerifiesOnOneGoroutine(t *testing.T) {
	p := testParams(nil)
	p.MaxBlockTxs = 64
	txs := make([]*Tx, 64)
	for i := range txs {
		txs[i] = signedTx(p, testKey(byte(i%3+1)), Address{byte(i)}, 1, 0, uint64(i))
	}
	blk := rawBlock(t, p, testKey(7), txs, nil)
	if err := CheckBlockAlone(p, blk, nil); err != nil {
		t.Fatal(err)
	}
	items := make([]sigItem, len(txs))
	for i, tx := range txs {
		items[i] = sigItem{pub: tx.From[:], msg: tx.SigningBytes(), sig: tx.Sig[:]}
	}
	// Watch the count of verifying goroutines while a one-goroutine verification runs.
	done := make(chan int)
	go func() { done <- verifyAll(items, 1) }()
	most := int32(0)
	for waiting := true; waiting; {
		select {
		case got := <-done:
			if got != len(items) {
				t.Fatalf("verifyAll = %d, want %d", got, len(items))
			}
			waiting = false
		default:
			most = max(most, verifying.Load())
			runtime.Gosched()
		}
	}
	if most > 1 {
		t.Fatalf("%d goroutines verified at once, want at most 1", most)
	}
	bad := *txs[10]
	bad.Sig[3] ^= 1
	txs[10] = &bad
	blk = rawBlock(t, p, testKey(7), txs, nil)
	if err := CheckBlockAlone(p, blk, nil); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("a broken signature: %v", err)
	}
}

// TestCheckBlocksAloneAgreesWithOneByOne: checking several blocks with their signatures in one
// batch gives each block the error CheckBlockAlone gives it on its own, whatever fails where
// (signatures in any of the blocks, fields, the root, the miner's seal), and caches what
// CheckBlockAlone would: every transfer of a block that passed.
func TestCheckBlocksAloneAgreesWithOneByOne(t *testing.T) {
	p := testParams(nil)
	p.MaxBlockTxs = 100
	keys := []ed25519.PrivateKey{testKey(1), testKey(2), testKey(3)}
	rapid.Check(t, func(rt *rapid.T) {
		nb := rapid.IntRange(0, 4).Draw(rt, "blocks")
		blocks := make([]*Block, nb)
		for bi := range blocks {
			n := rapid.IntRange(0, 40).Draw(rt, "txs")
			txs := make([]*Tx, n)
			for i := range txs {
				k := rapid.SampledFrom(keys).Draw(rt, "key")
				tx := signedTx(p, k, Address{byte(bi), byte(i)}, 1, 0, uint64(i))
				switch rapid.IntRange(0, 39).Draw(rt, fmt.Sprint("fault ", i)) {
				case 0:
					tx.Sig[rapid.IntRange(0, 63).Draw(rt, "sig byte")] ^= 1
				case 1:
					tx.Amount = 0
					tx.Sign(k)
				case 2:
					tx.Amount++ // signature no longer matches
				}
				txs[i] = tx
			}
			b := rawBlock(t, p, testKey(7), txs, nil)
			switch rapid.IntRange(0, 9).Draw(rt, fmt.Sprint("block fault ", bi)) {
			case 0:
				b.Header.TxRoot[0] ^= 1
				sealAndMine(t, b, testKey(7))
			case 1:
				b.Header.MinerSig[0] ^= 1
			}
			blocks[bi] = b
		}
		want := make([]string, nb)
		wantCache := NewSigCache(1000)
		for i, b := range blocks {
			want[i] = fmt.Sprint(CheckBlockAlone(p, b, wantCache))
		}
		cache := NewSigCache(1000)
		errs := CheckBlocksAlone(p, blocks, cache)
		if len(errs) != nb {
			rt.Fatalf("%d errors for %d blocks", len(errs), nb)
		}
		for i := range errs {
			if got := fmt.Sprint(errs[i]); got != want[i] {
				rt.Fatalf("block %d: CheckBlocksAlone says %s, CheckBlockAlone %s", i, got, want[i])
			}
		}
		for _, b := range blocks {
			for _, tx := range b.Txs {
				if h := tx.Hash(); cache.Contains(h) != wantCache.Contains(h) {
					rt.Fatalf("tx %s cached %v, one by one %v", h, cache.Contains(h), wantCache.Contains(h))
				}
			}
		}
	})
}
