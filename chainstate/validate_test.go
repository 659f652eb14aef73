package chainstate

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"pgregory.net/rapid"
	"slices"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

func wantCode(t *testing.T, err error, code ErrorCode) {
	t.Helper()
	if code == CodeUnknown {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var re *RuleError
	if !errors.As(err, &re) {
		t.Fatalf("error %v, want a RuleError %s", err, code)
	}
	if re.Code != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
	if !strings.HasPrefix(err.Error(), code.String()+": ") {
		t.Fatalf("error text %q does not start with the code", err)
	}
}

func TestCheckTx(t *testing.T) {
	p := testParams(nil)
	k := testKey(1)
	tests := []struct {
		name string
		tx   func() *Tx
		code ErrorCode
	}{
		{"ok", func() *Tx { return signedTx(p, k, Address{9}, 1, 0, 0) }, CodeUnknown},
		{"self transfer ok", func() *Tx { return signedTx(p, k, addrOf(k), 1, 1, 0) }, CodeUnknown},
		{"wrong chain", func() *Tx {
			tx := &Tx{ChainID: "other", To: Address{9}, Amount: 1}
			tx.Sign(k)
			return tx
		}, CodeWrongChain},
		{"zero amount", func() *Tx { return signedTx(p, k, Address{9}, 0, 5, 0) }, CodeBadAmount},
		{"overflow", func() *Tx { return signedTx(p, k, Address{9}, math.MaxUint64, 1, 0) }, CodeOverflow},
		{"bad signature", func() *Tx {
			tx := signedTx(p, k, Address{9}, 1, 0, 0)
			tx.Sig[0] ^= 1
			return tx
		}, CodeBadSignature},
		{"signed by another key", func() *Tx {
			tx := signedTx(p, k, Address{9}, 1, 0, 0)
			tx.From = pubOf(testKey(2))
			return tx
		}, CodeBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, CheckTx(p, tt.tx(), nil), tt.code)
		})
	}
}

func TestVerifyTxSigCache(t *testing.T) {
	p := testParams(nil)
	c := NewSigCache(10)
	good := signedTx(p, testKey(1), Address{1}, 1, 0, 0)
	bad := signedTx(p, testKey(1), Address{1}, 1, 0, 1)
	bad.Sig[5] ^= 0xff
	if !verifyTxSigHash(good, good.Hash(), c) || !c.Contains(good.Hash()) {
		t.Fatal("good signature not verified and cached")
	}
	if verifyTxSigHash(bad, bad.Hash(), c) || c.Contains(bad.Hash()) {
		t.Fatal("bad signature verified or cached")
	}
	// The cache is consulted: a hash in the cache passes without verification.
	c.Add(bad.Hash())
	if !verifyTxSigHash(bad, bad.Hash(), c) {
		t.Fatal("cache not consulted")
	}
	if !verifyTxSigHash(good, good.Hash(), nil) || verifyTxSigHash(bad, bad.Hash(), nil) {
		t.Fatal("nil cache")
	}
}

func TestSigCacheBounded(t *testing.T) {
	c := NewSigCache(4) // two generations of 2
	has := func(want string) {
		t.Helper()
		got := ""
		for i := range 8 {
			if c.Contains(Hash{byte(i)}) {
				got += fmt.Sprint(i)
			}
		}
		if got != want || c.Len() != len(want) {
			t.Fatalf("holds %q (len %d), want %q", got, c.Len(), want)
		}
	}
	for i := range 3 {
		c.Add(Hash{byte(i)})
	}
	has("012") // old {0 1}, current {2}
	c.Add(Hash{0})
	has("012") // 0 moved to the current generation: old {1}, current {2 0}
	c.Add(Hash{3})
	has("023") // the current generation was full: old {2 0}, current {3}; 1 dropped
	c.Add(Hash{4})
	has("0234")
	c.Add(Hash{5})
	has("345") // old {3 4}, current {5}
	c.AddAll([]Hash{{6}, {7}, {7}})
	has("567") // old {5 6}, current {7}
	view := c.LookupOnly()
	view.Add(Hash{0})
	view.AddAll([]Hash{{1}})
	has("567") // the view adds nothing
	if !view.Contains(Hash{7}) || view.Len() != 3 {
		t.Fatal("the view does not see the cache")
	}
	c.Add(Hash{0})
	if !view.Contains(Hash{0}) {
		t.Fatal("the view does not see what the cache adds later")
	}
	var nilCache *SigCache
	if nilCache.LookupOnly() != nil {
		t.Fatal("nil cache's view")
	}
	nilCache.Add(Hash{1})
	nilCache.AddAll([]Hash{{1}})
	if nilCache.Contains(Hash{1}) || nilCache.Len() != 0 {
		t.Fatal("nil cache")
	}
	if NewSigCache(0).s.half != DefaultSigCacheSize/2 {
		t.Fatal("default size")
	}
}

// TestSigCacheKeepsTheNewest: whatever the size and the adds, the cache never holds more than
// its size and always holds the last size/2 distinct hashes added.
func TestSigCacheKeepsTheNewest(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size := rapid.IntRange(1, 20).Draw(t, "size")
		c := NewSigCache(size)
		var added []Hash
		for _, v := range rapid.SliceOf(rapid.IntRange(0, 40)).Draw(t, "adds") {
			h := Hash{byte(v)}
			c.Add(h)
			added = append(added, h)
			if c.Len() > size {
				t.Fatalf("%d entries in a cache of %d", c.Len(), size)
			}
			if !c.Contains(h) {
				t.Fatalf("%x not held right after its Add", h[0])
			}
		}
		seen := map[Hash]bool{}
		for i := len(added) - 1; i >= 0 && len(seen) < max(1, size/2); i-- {
			seen[added[i]] = true
		}
		for h := range seen {
			if !c.Contains(h) {
				t.Fatalf("one of the last %d distinct hashes added, %x, was dropped", max(1, size/2), h[0])
			}
		}
	})
}

func TestSigCacheConcurrent(t *testing.T) {
	c := NewSigCache(50)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				h := Hash{byte(g), byte(i), byte(i >> 8)}
				c.Add(h)
				c.Contains(h)
			}
		})
	}
	wg.Wait()
	if c.Len() != 50 {
		t.Fatalf("len %d, want 50", c.Len())
	}
}

// rawBlock seals and mines a height-1 block on p's genesis holding txs, with no ledger check.
func rawBlock(t testing.TB, p *Params, miner ed25519.PrivateKey, txs []*Tx, edit func(h *Header)) *Block {
	t.Helper()
	g := p.Genesis()
	b := &Block{Header: Header{
		Version: 1, PrevHash: g.Hash(), Height: 1, Bits: p.PowBits,
		TxRoot: TxRoot(txs), Time: g.Header.Time + 1,
	}, Txs: txs}
	if edit != nil {
		edit(&b.Header)
	}
	return sealAndMine(t, b, miner)
}

func TestCheckBlock(t *testing.T) {
	p := testParams(nil)
	k, miner := testKey(1), testKey(7)
	tx0 := signedTx(p, k, Address{1}, 10, 1, 0)
	tx1 := signedTx(p, k, Address{2}, 20, 1, 1)
	txs := []*Tx{tx0, tx1}
	tests := []struct {
		name  string
		block func() *Block
		p     func(p *Params)
		code  ErrorCode
	}{
		{"ok", func() *Block { return rawBlock(t, p, miner, txs, nil) }, nil, CodeUnknown},
		{"ok empty", func() *Block { return rawBlock(t, p, miner, nil, nil) }, nil, CodeUnknown},
		{"ok validator", func() *Block { return rawBlock(t, p, miner, txs, nil) },
			func(p *Params) { p.Validators = []PublicKey{pubOf(testKey(3)), pubOf(miner)} }, CodeUnknown},
		{"bad version", func() *Block { return rawBlock(t, p, miner, txs, func(h *Header) { h.Version = 2 }) }, nil, CodeBadVersion},
		{"bad bits", func() *Block { return rawBlock(t, p, miner, txs, func(h *Header) { h.Bits = p.PowBits + 1 }) }, nil, CodeBadBits},
		{"bad pow", func() *Block {
			b := rawBlock(t, p, miner, txs, nil)
			for MeetsBits(b.Hash(), p.PowBits) {
				b.Header.Nonce++
			}
			return b
		}, nil, CodeBadPoW},
		{"not validator", func() *Block { return rawBlock(t, p, miner, txs, nil) },
			func(p *Params) { p.Validators = []PublicKey{pubOf(testKey(3))} }, CodeNotValidator},
		{"bad miner signature", func() *Block {
			b := rawBlock(t, p, miner, txs, nil)
			b.Header.MinerSig[0] ^= 1
			mine(t, &b.Header)
			return b
		}, nil, CodeBadMinerSig},
		{"miner key swapped", func() *Block {
			b := rawBlock(t, p, miner, txs, nil)
			b.Header.Miner = pubOf(testKey(3))
			mine(t, &b.Header)
			return b
		}, nil, CodeBadMinerSig},
		{"too many txs", func() *Block { return rawBlock(t, p, miner, txs, nil) },
			func(p *Params) { p.MaxBlockTxs = 1 }, CodeTooManyTxs},
		{"bad tx root", func() *Block {
			b := rawBlock(t, p, miner, txs, nil)
			b.Txs = []*Tx{tx1, tx0}
			return b
		}, nil, CodeBadTxRoot},
		{"missing tx", func() *Block {
			b := rawBlock(t, p, miner, txs, nil)
			b.Txs = b.Txs[:1]
			return b
		}, nil, CodeBadTxRoot},
		{"duplicate tx", func() *Block { return rawBlock(t, p, miner, []*Tx{tx0, tx1, tx0}, nil) }, nil, CodeDuplicateTx},
		{"wrong chain tx", func() *Block {
			o := &Tx{ChainID: "other", To: Address{1}, Amount: 1}
			o.Sign(k)
			return rawBlock(t, p, miner, []*Tx{tx0, o}, nil)
		}, nil, CodeWrongChain},
		{"zero amount tx", func() *Block { return rawBlock(t, p, miner, []*Tx{signedTx(p, k, Address{1}, 0, 1, 0)}, nil) }, nil, CodeBadAmount},
		{"overflow tx", func() *Block {
			return rawBlock(t, p, miner, []*Tx{signedTx(p, k, Address{1}, math.MaxUint64, 1, 0)}, nil)
		}, nil, CodeOverflow},
		{"bad tx signature", func() *Block {
			bad := signedTx(p, k, Address{1}, 5, 1, 2)
			bad.Sig[10] ^= 1
			return rawBlock(t, p, miner, []*Tx{tx0, bad}, nil)
		}, nil, CodeBadSignature},
		{"genesis", func() *Block { return p.Genesis() }, nil, CodeUnknown},
		{"fake genesis", func() *Block {
			g := p.Genesis()
			g.Header.StateRoot[0] ^= 1
			return g
		}, nil, CodeBadGenesis},
		{"genesis with txs", func() *Block {
			g := p.Genesis()
			g.Txs = []*Tx{tx0}
			return g
		}, nil, CodeBadGenesis},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pp := *p
			if tt.p != nil {
				tt.p(&pp)
			}
			wantCode(t, CheckBlock(&pp, tt.block(), nil), tt.code)
		})
	}
}

// TestCheckBlockParallel checks a block big enough for parallel signature checks: the reported
// failure is the lowest failing index, every time, and good signatures fill the cache.
func TestCheckBlockParallel(t *testing.T) {
	p := testParams(nil)
	k := testKey(1)
	txs := make([]*Tx, 96)
	for i := range txs {
		txs[i] = signedTx(p, k, Address{byte(i)}, 1, 0, uint64(i))
	}
	cache := NewSigCache(1000)
	good := rawBlock(t, p, testKey(7), txs, nil)
	if err := CheckBlock(p, good, cache); err != nil {
		t.Fatal(err)
	}
	if cache.Len() != len(txs) {
		t.Fatalf("cache has %d entries, want %d", cache.Len(), len(txs))
	}
	bad := make([]*Tx, len(txs))
	copy(bad, txs)
	for _, i := range []int{90, 41, 60} {
		c := *txs[i]
		c.Sig[0] ^= 1
		bad[i] = &c
	}
	badBlock := rawBlock(t, p, testKey(7), bad, nil)
	for range 5 {
		err := CheckBlock(p, badBlock, nil)
		wantCode(t, err, CodeBadSignature)
		if !strings.Contains(err.Error(), bad[41].Hash().String()) {
			t.Fatalf("error %v does not name the lowest failing tx 41", err)
		}
	}
}

func TestCheckHeaderContext(t *testing.T) {
	p := testParams(nil)
	parent := p.Genesis().Header
	now := parent.Time + 1000
	ok := func() *Header {
		return &Header{Version: 1, PrevHash: parent.Hash(), Height: 1, Bits: p.PowBits, Time: parent.Time + 5}
	}
	tests := []struct {
		name string
		edit func(h *Header)
		now  uint64
		code ErrorCode
	}{
		{"ok", func(h *Header) {}, now, CodeUnknown},
		{"same time as parent", func(h *Header) { h.Time = parent.Time }, now, CodeUnknown},
		{"at the drift limit", func(h *Header) { h.Time = now + DefaultMaxFutureDriftMs }, now, CodeUnknown},
		{"no clock bound", func(h *Header) { h.Time = math.MaxUint64 }, math.MaxUint64, CodeUnknown},
		{"bad height", func(h *Header) { h.Height = 2 }, now, CodeBadHeight},
		{"bad prev hash", func(h *Header) { h.PrevHash[0] ^= 1 }, now, CodeBadPrevHash},
		{"bad bits", func(h *Header) { h.Bits++ }, now, CodeBadBits},
		{"time before parent", func(h *Header) { h.Time = parent.Time - 1 }, now, CodeTimeTooOld},
		{"time past drift", func(h *Header) { h.Time = now + DefaultMaxFutureDriftMs + 1 }, now, CodeTimeTooNew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := ok()
			tt.edit(h)
			wantCode(t, CheckHeaderContext(p, h, &parent, nil, tt.now), tt.code)
		})
	}
	pp := *p
	pp.MaxFutureDriftMs = 10
	h := ok()
	h.Time = now + 11
	wantCode(t, CheckHeaderContext(&pp, h, &parent, nil, now), CodeTimeTooNew)
}

func TestErrorCodeStrings(t *testing.T) {
	seen := map[string]bool{}
	for c := CodeUnknown; c <= CodeKnownInvalid; c++ {
		s := c.String()
		if s == "" || strings.HasPrefix(s, "code(") || seen[s] {
			t.Fatalf("code %d has name %q", int(c), s)
		}
		seen[s] = true
	}
	if ErrorCode(999).String() != "code(999)" {
		t.Fatal("unknown code name")
	}
	err := error(&BlockError{Hash: Hash{1}, Height: 7, Err: ruleErr(CodeBadNonce, "x")})
	if re, ok := IsRuleError(err); !ok || re.Code != CodeBadNonce {
		t.Fatal("IsRuleError through BlockError")
	}
	if !strings.Contains(err.Error(), "block 7 01") {
		t.Fatalf("BlockError text %q", err)
	}
}

// TestCheckedBlockKeepsTxHashes: a block that passed CheckBlock (or CheckBlocksAlone) gives its
// commit the hashes the check computed; one whose transactions were replaced since, or that
// failed its check, has them computed again.
func TestCheckedBlockKeepsTxHashes(t *testing.T) {
	p := testParams(nil)
	k, miner := testKey(1), testKey(7)
	txs := []*Tx{signedTx(p, k, Address{1}, 10, 1, 0), signedTx(p, k, Address{2}, 20, 1, 1)}
	want := []Hash{txs[0].Hash(), txs[1].Hash()}
	kept := func(b *Block) bool { h := b.txHashes(); return len(h) > 0 && &h[0] == &b.checked.hashes[0] }

	b := rawBlock(t, p, miner, txs, nil)
	if got := b.txHashes(); !slices.Equal(got, want) || len(b.checked.hashes) != 0 {
		t.Fatalf("unchecked block: hashes %v (kept %d), want %v computed", got, len(b.checked.hashes), want)
	}
	if err := CheckBlock(p, b, nil); err != nil {
		t.Fatal(err)
	}
	if !kept(b) || !slices.Equal(b.txHashes(), want) {
		t.Fatalf("checked block: hashes %v, kept %v; want the check's %v", b.txHashes(), kept(b), want)
	}
	b.Txs = []*Tx{txs[1], txs[0]} // replaced after the check: computed again
	if got := b.txHashes(); kept(b) || !slices.Equal(got, []Hash{want[1], want[0]}) {
		t.Fatalf("replaced transactions: hashes %v (kept %v)", got, kept(b))
	}

	good, bad := rawBlock(t, p, miner, txs, nil), rawBlock(t, p, miner, txs, nil)
	bad.Txs = bad.Txs[:1] // tx root no longer matches
	errs := CheckBlocksAlone(p, []*Block{good, bad}, nil)
	if errs[0] != nil || errs[1] == nil {
		t.Fatalf("CheckBlocksAlone: %v", errs)
	}
	if !kept(good) || len(bad.checked.hashes) != 0 {
		t.Fatalf("CheckBlocksAlone kept the passing block's hashes %v, the failing one's %d", kept(good), len(bad.checked.hashes))
	}
}

// TestDecodeBlockSharesChainID: a decoded block's transactions of one chain share one chain id
// string, and a transaction of another chain keeps its own.
func TestDecodeBlockSharesChainID(t *testing.T) {
	p := testParams(nil)
	k, miner := testKey(1), testKey(7)
	other := &Tx{ChainID: "other", To: Address{1}, Amount: 1}
	other.Sign(k)
	b := rawBlock(t, p, miner, []*Tx{signedTx(p, k, Address{1}, 10, 1, 0), signedTx(p, k, Address{2}, 20, 1, 1), other}, nil)
	got, err := DecodeBlock(b.Encode())
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{got.Txs[0].ChainID, got.Txs[1].ChainID, got.Txs[2].ChainID}
	if ids[0] != p.ChainID || ids[1] != p.ChainID || ids[2] != "other" {
		t.Fatalf("chain ids %q", ids)
	}
	if unsafe.StringData(ids[0]) != unsafe.StringData(ids[1]) {
		t.Fatal("two transactions of one chain have two chain id strings")
	}
}

// TestDecodeBlockOwnedKeepsEncoding: a block decoded with DecodeBlockOwned is stored as the
// bytes it came in, until its header or transactions are replaced; one decoded with
// DecodeBlock is encoded again.
func TestDecodeBlockOwnedKeepsEncoding(t *testing.T) {
	p := testParams(nil)
	k, miner := testKey(1), testKey(7)
	txs := []*Tx{signedTx(p, k, Address{1}, 10, 1, 0), signedTx(p, k, Address{2}, 20, 1, 1)}
	raw := rawBlock(t, p, miner, txs, nil).Encode()
	same := func(a, b []byte) bool { return len(a) > 0 && &a[0] == &b[0] }

	b, err := DecodeBlockOwned(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.encoding(); !same(got, raw) || !bytes.Equal(got, b.Encode()) {
		t.Fatal("an owned block's encoding is not the bytes it was decoded from")
	}
	b.Header.Nonce++
	if got := b.encoding(); same(got, raw) || !bytes.Equal(got, b.Encode()) {
		t.Fatal("a changed header kept the old encoding")
	}
	b.Header.Nonce--
	b.Txs = []*Tx{b.Txs[1], b.Txs[0]}
	if got := b.encoding(); same(got, raw) || !bytes.Equal(got, b.Encode()) {
		t.Fatal("replaced transactions kept the old encoding")
	}

	plain, err := DecodeBlock(raw)
	if err != nil {
		t.Fatal(err)
	}
	owned, err := DecodeBlockOwned(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i := range owned.Txs { // decoded alike, into one array
		if *owned.Txs[i] != *plain.Txs[i] {
			t.Fatalf("tx %d: owned %+v, plain %+v", i, owned.Txs[i], plain.Txs[i])
		}
	}
	if d := uintptr(unsafe.Pointer(owned.Txs[1])) - uintptr(unsafe.Pointer(owned.Txs[0])); d != unsafe.Sizeof(Tx{}) {
		t.Fatalf("an owned block's transactions are %d bytes apart, want one array", d)
	}
	if got := plain.encoding(); same(got, raw) || !bytes.Equal(got, raw) {
		t.Fatal("DecodeBlock's block shares the caller's bytes")
	}
	if _, err := DecodeBlockOwned(raw[:len(raw)-1]); err == nil {
		t.Fatal("DecodeBlockOwned took a truncated block")
	}
}
