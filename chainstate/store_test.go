package chainstate

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

const testTimeout = time.Second

// openTestStore opens a fresh store under t.TempDir(). Unless the test marks the store as
// deliberately damaged (verify = false), cleanup closes it and runs Verify as an invariant check.
func openTestStore(t *testing.T, p *Params, verify bool) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "chain.db")
	s, err := Open(path, p, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if verify {
			if _, err := Verify(path, p, testTimeout); err != nil {
				t.Errorf("store invariant: %v", err)
			}
		}
	})
	return s, path
}

// dump returns every bucket's content as strings, for equality checks.
func dump(t *testing.T, s *Store) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			m := map[string]string{}
			out[string(name)] = m
			return b.ForEach(func(k, v []byte) error { m[string(k)] = string(v); return nil })
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func connectAll(t *testing.T, s *Store, blocks ...*Block) {
	t.Helper()
	for _, b := range blocks {
		if _, err := s.Connect(b); err != nil {
			t.Fatalf("connect %d: %v", b.Header.Height, err)
		}
	}
}

// forkScenario is two branches from genesis sharing tx T1:
//
//	A: a1 {T1} ← a2 {T2}
//	B: b1 {T1} ← b2 {T3} ← b3 {}
type forkScenario struct {
	p                      *Params
	A, B                   *chain
	a1, a2, b1, b2, b3     *Block
	t1, t2, t3             *Tx
	wallet, minerA, minerB Address
	x, y, z                Address
}

func newForkScenario(t *testing.T) *forkScenario {
	w, ma, mb := testKey(1), testKey(20), testKey(21)
	f := &forkScenario{wallet: addrOf(w), minerA: addrOf(ma), minerB: addrOf(mb),
		x: Address{0xa}, y: Address{0xb}, z: Address{0xc}}
	f.p = testParams(map[Address]uint64{f.wallet: 1_000_000})
	f.t1 = signedTx(f.p, w, f.x, 100, 1, 0)
	f.t2 = signedTx(f.p, w, f.z, 200, 2, 1)
	f.t3 = signedTx(f.p, w, f.y, 300, 3, 1)
	f.A, f.B = newChain(f.p), newChain(f.p)
	f.a1 = f.A.add(t, ma, f.t1)
	f.a2 = f.A.add(t, ma, f.t2)
	f.b1 = f.B.add(t, mb, f.t1)
	f.b2 = f.B.add(t, mb, f.t3)
	f.b3 = f.B.add(t, mb)
	return f
}

func TestStoreOpenCloseReopen(t *testing.T) {
	f := newForkScenario(t)
	path := filepath.Join(t.TempDir(), "sub", "dir", "chain.db")
	s, err := Open(path, f.p, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	tip, err := s.Tip()
	if err != nil || tip.Hash != f.p.GenesisHash() || tip.Work.Cmp(WorkForBits(f.p.PowBits)) != 0 {
		t.Fatalf("fresh tip %+v, %v", tip, err)
	}
	if acct, _ := s.Account(f.wallet); acct.Balance != 1_000_000 {
		t.Fatalf("alloc account %+v", acct)
	}
	connectAll(t, s, f.a1, f.a2)
	if s.Path() != path || s.Params() != f.p || s.GenesisHash() != f.p.GenesisHash() {
		t.Fatal("accessors")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Tip(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Tip after Close: %v", err)
	}
	if _, err := s.Connect(f.b1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Connect after Close: %v", err)
	}

	s, err = Open(path, f.p, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tip, err = s.Tip()
	if err != nil || tip.Hash != f.a2.Hash() || tip.Header != f.a2.Header {
		t.Fatalf("reopened tip %+v, %v", tip, err)
	}
	if want := new(big.Int).Mul(big.NewInt(3), WorkForBits(f.p.PowBits)); tip.Work.Cmp(want) != 0 {
		t.Fatalf("tip work %s, want %s", tip.Work, want)
	}
	for acct, want := range map[Address]Account{
		f.wallet: {Balance: 1_000_000 - 101 - 202, Nonce: 2},
		f.x:      {Balance: 100}, f.z: {Balance: 200}, f.minerA: {Balance: 2*50 + 3},
		f.y: {},
	} {
		if got, err := s.Account(acct); err != nil || got != want {
			t.Fatalf("account %s = %+v, %v; want %+v", acct, got, err, want)
		}
	}
	for h, b := range []*Block{f.p.Genesis(), f.a1, f.a2} {
		got, ok, err := s.MainHash(uint64(h))
		if err != nil || !ok || got != b.Hash() {
			t.Fatalf("MainHash(%d) = %s %v %v", h, got, ok, err)
		}
		blk, ok, err := s.Block(got)
		if err != nil || !ok || !bytes.Equal(blk.Encode(), b.Encode()) {
			t.Fatalf("Block(%d): %v %v", h, ok, err)
		}
		e, ok, err := s.Entry(got)
		if err != nil || !ok || e.Status != StatusMain || e.Header != b.Header {
			t.Fatalf("Entry(%d) = %+v %v %v", h, e, ok, err)
		}
	}
	if _, ok, err := s.MainHash(3); ok || err != nil {
		t.Fatal("MainHash above the tip")
	}
	if _, ok, err := s.Block(f.b1.Hash()); ok || err != nil {
		t.Fatal("unknown block found")
	}
	if l, ok, err := s.TxLocation(f.t2.Hash()); err != nil || !ok || l != (TxLocation{BlockHash: f.a2.Hash(), Height: 2, Index: 0}) {
		t.Fatalf("TxLocation(t2) = %+v %v %v", l, ok, err)
	}
	if _, ok, _ := s.TxLocation(f.t3.Hash()); ok {
		t.Fatal("unconfirmed tx has a location")
	}
	if got, err := s.TxsConfirmed([]Hash{f.t3.Hash(), f.t2.Hash(), {}}); err != nil || !slices.Equal(got, []bool{false, true, false}) {
		t.Fatalf("TxsConfirmed = %v, %v", got, err)
	}
	idx, err := s.Index()
	if err != nil || len(idx) != 3 || idx[0].Header.Height != 0 || idx[2].Hash != f.a2.Hash() {
		t.Fatalf("Index = %v, %v", idx, err)
	}
	err = s.View(func(r AccountReader) error {
		a, err := r.Account(f.x)
		if a.Balance != 100 {
			return fmt.Errorf("view balance %d", a.Balance)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sentinel := errors.New("from fn")
	if err := s.View(func(AccountReader) error { return sentinel }); !errors.Is(err, sentinel) {
		t.Fatalf("View does not return fn's error: %v", err)
	}
}

func TestStoreWrongGenesisUntouched(t *testing.T) {
	p1 := testParams(nil)
	s, path := openTestStore(t, p1, false)
	connectAll(t, s, newChain(p1).add(t, testKey(3)))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	p2 := testParams(nil)
	p2.ChainID = "another-chain"
	_, err := Open(path, p2, testTimeout)
	if !errors.Is(err, ErrWrongChain) {
		t.Fatalf("Open with another genesis: %v", err)
	}
	for _, want := range []string{path, p1.GenesisHash().String(), p2.GenesisHash().String()} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not name %s", err, want)
		}
	}
	_, err = Verify(path, p2, testTimeout)
	if !errors.Is(err, ErrWrongChain) {
		t.Fatalf("Verify with another genesis: %v", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("refused database file was modified")
	}
	// The right chain still opens (the lock was released).
	s2, err := Open(path, p1, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
}

func TestStoreNewerSchemaUntouched(t *testing.T) {
	p := testParams(nil)
	s, path := openTestStore(t, p, false)
	s.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaSchema, be.AppendUint32(nil, 7))
	})
	before, _ := os.ReadFile(path)
	_, err := Open(path, p, testTimeout)
	if !errors.Is(err, ErrSchema) {
		t.Fatalf("Open newer schema: %v", err)
	}
	for _, want := range []string{path, "version 7", fmt.Sprintf("supported version %d", SchemaVersion)} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not mention %q", err, want)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("refused database file was modified")
	}
}

func rawUpdate(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: testTimeout})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStoreRefusesForeignFiles(t *testing.T) {
	p := testParams(nil)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a database "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.db")
	rawUpdate(t, other, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("stuff")); return err })
	for _, path := range []string{garbage, other} {
		before, _ := os.ReadFile(path)
		_, err := Open(path, p, testTimeout)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("Open(%s) = %v", path, err)
		}
		if _, err := Verify(path, p, testTimeout); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("Verify(%s) = %v", path, err)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
			t.Fatalf("%s modified", path)
		}
	}
	if _, err := Verify(filepath.Join(dir, "missing.db"), p, testTimeout); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Verify of a missing file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("Verify created the file")
	}
}

func TestStoreInUse(t *testing.T) {
	p := testParams(nil)
	s, path := openTestStore(t, p, true)
	start := time.Now()
	_, err := Open(path, p, 200*time.Millisecond)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: %v", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("unclear error %q", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("second Open took %s", d)
	}
	if _, err := Verify(path, p, 200*time.Millisecond); !errors.Is(err, ErrInUse) {
		t.Fatalf("Verify while open: %v", err)
	}
	if _, err := s.Tip(); err != nil {
		t.Fatalf("first store broken: %v", err)
	}
}

func TestStoreConnect(t *testing.T) {
	f := newForkScenario(t)
	s, _ := openTestStore(t, f.p, true)
	if err := s.PutMempool([]*Tx{f.t1, f.t2, f.t3}, nil); err != nil {
		t.Fatal(err)
	}
	d, err := s.Connect(f.a1)
	if err != nil {
		t.Fatal(err)
	}
	if d.StateRoot != f.a1.Header.StateRoot || len(d.Changes) != 3 {
		t.Fatalf("delta %+v", d)
	}
	// Not on the tip.
	if _, err := s.Connect(f.b2); !errors.Is(err, ErrNotTip) {
		t.Fatalf("Connect of a non-child: %v", err)
	}
	before := dump(t, s)
	// A block that does not apply writes nothing.
	bad := nextBlock(t, f.p, &f.a1.Header, f.A.fork(t, 1).state, testKey(20))
	bad.Header.StateRoot[3] ^= 1
	sealAndMine(t, bad, testKey(20))
	_, err = s.Connect(bad)
	if re, ok := IsRuleError(err); !ok || re.Code != CodeBadStateRoot {
		t.Fatalf("Connect of a bad block: %v", err)
	}
	wrongHeight := nextBlock(t, f.p, &f.a1.Header, f.A.fork(t, 1).state, testKey(20))
	wrongHeight.Header.Height = 5
	sealAndMine(t, wrongHeight, testKey(20))
	if _, err = s.Connect(wrongHeight); err == nil {
		t.Fatal("connected a block with a wrong height")
	} else if re, ok := IsRuleError(err); !ok || re.Code != CodeBadHeight {
		t.Fatalf("wrong height: %v", err)
	}
	if after := dump(t, s); !maps.EqualFunc(before, after, maps.Equal) {
		t.Fatal("failed Connect changed the database")
	}
	connectAll(t, s, f.a2)
	mp, err := s.MempoolTxs()
	if err != nil || len(mp) != 1 || mp[0].Hash() != f.t3.Hash() {
		t.Fatalf("mempool after connecting t1, t2: %v %v", mp, err)
	}
	if err := s.PutMempool(nil, []Hash{f.t3.Hash(), {9}}); err != nil {
		t.Fatal(err)
	}
	if mp, _ := s.MempoolTxs(); len(mp) != 0 {
		t.Fatal("mempool removal")
	}
	// PutBlock never downgrades a main-chain entry.
	if err := s.PutBlock(f.a2, big.NewInt(1)); err != nil {
		t.Fatal(err)
	}
	if e, _, _ := s.Entry(f.a2.Hash()); e.Status != StatusMain || e.Work.Cmp(big.NewInt(1)) == 0 {
		t.Fatalf("PutBlock changed a main entry: %+v", e)
	}
	if err := s.PutBlock(f.b2, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("PutBlock with unknown parent and nil work: %v", err)
	}
}

func TestStoreReorg(t *testing.T) {
	f := newForkScenario(t)
	s1, _ := openTestStore(t, f.p, true)
	connectAll(t, s1, f.a1, f.a2)
	for _, b := range []*Block{f.b1, f.b2} {
		if err := s1.PutBlock(b, nil); err != nil {
			t.Fatal(err)
		}
	}
	if e, ok, _ := s1.Entry(f.b2.Hash()); !ok || e.Status != StatusSide ||
		e.Work.Cmp(new(big.Int).Mul(big.NewInt(3), WorkForBits(f.p.PowBits))) != 0 {
		t.Fatalf("side entry %+v", e)
	}
	if err := s1.PutMempool([]*Tx{f.t3}, nil); err != nil {
		t.Fatal(err)
	}
	res, err := s1.Reorg([]Hash{f.a2.Hash(), f.a1.Hash()}, []*Block{f.b1, f.b2, f.b3})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Disconnected) != fmt.Sprint([]Hash{f.a2.Hash(), f.a1.Hash()}) ||
		fmt.Sprint(res.Connected) != fmt.Sprint([]Hash{f.b1.Hash(), f.b2.Hash(), f.b3.Hash()}) {
		t.Fatalf("result %+v", res)
	}
	if len(res.Returned) != 1 || res.Returned[0].Hash() != f.t2.Hash() {
		t.Fatalf("returned %v, want only t2 (t1 is in both branches)", res.Returned)
	}
	if mp, err := s1.MempoolTxs(); err != nil || len(mp) != 1 || mp[0].Hash() != f.t2.Hash() {
		t.Fatalf("mempool after reorg: %v %v (t3 is now confirmed, t2 returned)", mp, err)
	}

	// A store that only ever connected the winning branch.
	s2, _ := openTestStore(t, f.p, true)
	connectAll(t, s2, f.b1, f.b2, f.b3)
	d1, d2 := dump(t, s1), dump(t, s2)
	// The loser's returned transfer t2 is s1's only pending one; the rest of meta is the same.
	takeMempoolCount(t, d1, 1)
	takeMempoolCount(t, d2, 0)
	for _, name := range []string{"accounts", "main", "txindex", "txrecent", "undo", "meta"} {
		if !maps.Equal(d1[name], d2[name]) {
			t.Fatalf("bucket %s differs from the store that only connected the winner", name)
		}
	}
	for _, b := range []*Block{f.b1, f.b2, f.b3} {
		e1, _, _ := s1.Entry(b.Hash())
		e2, _, _ := s2.Entry(b.Hash())
		if e1.Status != StatusMain || e1.Header != e2.Header || e1.Work.Cmp(e2.Work) != 0 {
			t.Fatalf("entry of %d differs: %+v vs %+v", b.Header.Height, e1, e2)
		}
	}
	for _, b := range []*Block{f.a1, f.a2} {
		if e, _, _ := s1.Entry(b.Hash()); e.Status != StatusSide {
			t.Fatalf("disconnected block status %s", e.Status)
		}
	}
	t1, _ := s1.Tip()
	t2, _ := s2.Tip()
	if t1.Hash != t2.Hash || t1.Work.Cmp(t2.Work) != 0 {
		t.Fatal("tips differ")
	}

	// And back: A grows to 4 blocks and wins; b2's t3 returns, t1 (in both) does not.
	a3 := f.A.add(t, testKey(20))
	a4 := f.A.add(t, testKey(20), f.t3.withNonce(t, f.p, 2))
	res, err = s1.Reorg([]Hash{f.b3.Hash(), f.b2.Hash(), f.b1.Hash()}, []*Block{f.a1, f.a2, a3, a4})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Returned) != 1 || res.Returned[0].Hash() != f.t3.Hash() {
		t.Fatalf("returned %v, want t3", res.Returned)
	}
	s3, _ := openTestStore(t, f.p, true)
	connectAll(t, s3, f.a1, f.a2, a3, a4)
	d1, d3 := dump(t, s1), dump(t, s3)
	takeMempoolCount(t, d1, 1) // t3
	takeMempoolCount(t, d3, 0)
	for _, name := range []string{"accounts", "main", "txindex", "txrecent", "undo", "meta"} {
		if !maps.Equal(d1[name], d3[name]) {
			t.Fatalf("bucket %s differs after reorging back", name)
		}
	}
}

// takeMempoolCount checks the mempool count in a dump's meta bucket and removes it, so that the
// rest of meta can be compared with a store whose mempool differs.
func takeMempoolCount(t *testing.T, d map[string]map[string]string, want uint64) {
	t.Helper()
	if c := d["meta"][string(metaMempoolCount)]; c != string(be.AppendUint64(nil, want)) {
		t.Fatalf("mempool count %x, want %d", c, want)
	}
	delete(d["meta"], string(metaMempoolCount))
}

// withNonce returns a copy of tx re-signed by testKey(1) with another nonce.
func (tx *Tx) withNonce(t *testing.T, p *Params, n uint64) *Tx {
	t.Helper()
	return signedTx(p, testKey(1), tx.To, tx.Amount, tx.Fee, n)
}

func TestStoreReorgInvalidBranchChangesNothing(t *testing.T) {
	f := newForkScenario(t)
	s, _ := openTestStore(t, f.p, true)
	connectAll(t, s, f.a1, f.a2)
	mb := testKey(21)
	afterB1 := f.B.fork(t, 1)
	b2bad := nextBlock(t, f.p, &f.b1.Header, afterB1.state, mb, f.t3)
	b2bad.Header.StateRoot[0] ^= 1
	sealAndMine(t, b2bad, mb)
	b3, _, err := BuildTemplate(f.p, &b2bad.Header, afterB1.state, pubOf(mb), nil, b2bad.Header.Time)
	if err != nil {
		t.Fatal(err)
	}
	sealAndMine(t, b3, mb)
	for _, b := range []*Block{f.b1, b2bad, b3} {
		if err := s.PutBlock(b, nil); err != nil {
			t.Fatal(err)
		}
	}
	before := dump(t, s)
	_, err = s.Reorg([]Hash{f.a2.Hash(), f.a1.Hash()}, []*Block{f.b1, b2bad, b3})
	var be *BlockError
	if !errors.As(err, &be) || be.Hash != b2bad.Hash() || be.Height != 2 {
		t.Fatalf("error %v does not name the bad block %s", err, b2bad.Hash())
	}
	if re, ok := IsRuleError(err); !ok || re.Code != CodeBadStateRoot {
		t.Fatalf("error %v does not wrap the rule error", err)
	}
	if !strings.Contains(err.Error(), b2bad.Hash().String()) {
		t.Fatalf("error text %q does not name the block", err)
	}
	if after := dump(t, s); !maps.EqualFunc(before, after, maps.Equal) {
		t.Fatal("failed reorg changed the database")
	}

	// Lists that do not chain change nothing either.
	if _, err := s.Reorg([]Hash{f.a1.Hash()}, nil); !errors.Is(err, ErrNotTip) {
		t.Fatalf("disconnect not starting at the tip: %v", err)
	}
	if _, err := s.Reorg([]Hash{f.a2.Hash()}, []*Block{f.b1}); !errors.Is(err, ErrNotTip) {
		t.Fatalf("branch not at the fork point: %v", err)
	}
	if after := dump(t, s); !maps.EqualFunc(before, after, maps.Equal) {
		t.Fatal("refused reorg changed the database")
	}

	if err := s.MarkInvalid(b2bad.Hash()); err != nil {
		t.Fatal(err)
	}
	if e, _, _ := s.Entry(b2bad.Hash()); e.Status != StatusInvalid {
		t.Fatalf("status %s after MarkInvalid", e.Status)
	}
	if err := s.MarkInvalid(f.a2.Hash()); !errors.Is(err, ErrMainChain) {
		t.Fatalf("MarkInvalid of a main block: %v", err)
	}
	if err := s.MarkInvalid(Hash{1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("MarkInvalid of an unknown block: %v", err)
	}
	// PutBlock does not resurrect an invalid block.
	if err := s.PutBlock(b2bad, nil); err != nil {
		t.Fatal(err)
	}
	if e, _, _ := s.Entry(b2bad.Hash()); e.Status != StatusInvalid {
		t.Fatal("PutBlock changed an invalid entry")
	}
}

// TestStoreConcurrentReads reads from several goroutines while blocks are connected: every read
// sees a consistent committed state (run with -race).
func TestStoreConcurrentReads(t *testing.T) {
	w := testKey(1)
	p := testParams(map[Address]uint64{addrOf(w): 1_000_000})
	s, _ := openTestStore(t, p, true)
	c := newChain(p)
	var blocks []*Block
	for i := range 15 {
		blocks = append(blocks, c.add(t, testKey(2), signedTx(p, w, Address{1}, 10, 0, uint64(i))))
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				err := s.View(func(r AccountReader) error {
					a, err := r.Account(addrOf(w))
					b, _ := r.Account(Address{1})
					if err == nil && a.Balance+b.Balance != 1_000_000 {
						err = fmt.Errorf("inconsistent view: %d + %d", a.Balance, b.Balance)
					}
					return err
				})
				if err == nil {
					_, err = s.Tip()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	connectAll(t, s, blocks...)
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestStoreRawBlock: RawBlock gives the stored encoding of a block (equal to Encode), a copy the
// caller may keep after the read transaction, nothing for an unknown hash, and ErrCorrupt when
// the value under a hash is not that block's (too short, or another block's header).
func TestStoreRawBlock(t *testing.T) {
	f := newForkScenario(t)
	s, _ := openTestStore(t, f.p, false) // damaged on purpose below
	if _, err := s.Connect(f.a1); err != nil {
		t.Fatal(err)
	}
	raw, ok, err := s.RawBlock(f.a1.Hash())
	if err != nil || !ok || !bytes.Equal(raw, f.a1.Encode()) {
		t.Fatalf("RawBlock(a1) = %d bytes, %v, %v; want a1's encoding", len(raw), ok, err)
	}
	raw[0] ^= 0xff // a copy: the store's value is unchanged
	if again, _, err := s.RawBlock(f.a1.Hash()); err != nil || !bytes.Equal(again, f.a1.Encode()) {
		t.Fatalf("RawBlock(a1) after the caller changed its copy: %v", err)
	}
	if raw, ok, err := s.RawBlock(f.b1.Hash()); ok || err != nil || raw != nil {
		t.Fatalf("RawBlock(unknown) = %d bytes, %v, %v", len(raw), ok, err)
	}
	for _, tc := range []struct {
		name  string
		value []byte
		want  string
	}{
		{"shorter than a header", f.a1.Encode()[:HeaderSize-1], "shorter than a header"},
		{"another block", f.b1.Encode(), "hashes to " + f.b1.Hash().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := f.a1.Hash()
			if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketBlocks).Put(h[:], tc.value) }); err != nil {
				t.Fatal(err)
			}
			raw, ok, err := s.RawBlock(h)
			if !errors.Is(err, ErrCorrupt) || ok || raw != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("RawBlock = %d bytes, %v, %v; want ErrCorrupt saying %q", len(raw), ok, err, tc.want)
			}
		})
	}
}
