package chainstate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"pgregory.net/rapid"
)

// damageFixture is a closed store of a 60-block chain with 5 transfers a block, 40 address-book
// entries and 3 pending transfers: enough pages (a few dozen) for page damage to mean something.
type damageFixture struct {
	p      *Params
	data   []byte
	height uint64
	psize  int
	hwm    int
	root   int
	free   int
	live   []int // branch and leaf pages other than the root
}

var (
	fixtureOnce sync.Once
	fixture     *damageFixture
	fixtureErr  error
)

func getDamageFixture(t *testing.T) *damageFixture {
	t.Helper()
	fixtureOnce.Do(func() { fixture, fixtureErr = buildDamageFixture(t) })
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixture
}

func buildDamageFixture(t *testing.T) (*damageFixture, error) {
	w, miner := testKey(1), testKey(2)
	p := testParams(map[Address]uint64{addrOf(w): 1_000_000_000})
	c := newChain(p)
	nonce := uint64(0)
	for range 60 {
		var txs []*Tx
		for range 5 {
			txs = append(txs, signedTx(p, w, Address{byte(nonce), byte(nonce >> 8), 7}, 10+nonce, 1, nonce))
			nonce++
		}
		c.add(t, miner, txs...)
	}
	dir, err := os.MkdirTemp("", "damage-fixture")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "chain.db")
	s, err := Open(path, p, testTimeout)
	if err != nil {
		return nil, err
	}
	for _, b := range c.blocks[1:] {
		if _, err := s.Connect(b); err != nil {
			return nil, err
		}
	}
	var peers []PeerRecord
	for i := range 40 {
		peers = append(peers, PeerRecord{ID: [32]byte{byte(i), 1}, Addr: fmt.Sprintf("10.0.0.%d:7000", i), LastSeen: int64(i)})
	}
	pending := []*Tx{signedTx(p, w, Address{9}, 5, 1, nonce), signedTx(p, w, Address{9}, 6, 1, nonce+1), signedTx(p, w, Address{9}, 7, 1, nonce+2)}
	if err := errors.Join(s.PutPeers(peers, nil), s.PutMempool(pending, nil), s.Close()); err != nil {
		return nil, err
	}
	f := &damageFixture{p: p, height: uint64(len(c.blocks) - 1)}
	if f.data, err = os.ReadFile(path); err != nil {
		return nil, err
	}
	m, problem := checkLayout(int64(len(f.data)), bytes.NewReader(f.data))
	if problem != "" {
		return nil, fmt.Errorf("fixture layout: %s", problem)
	}
	f.psize, f.hwm, f.root, f.free = int(m.PageSize), int(m.HWM), int(m.Root), int(m.Freelist)
	// The live pages, from bbolt's own page info (on a scratch copy opened read-write, which loads
	// the freelist).
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	err = db.View(func(tx *bolt.Tx) error {
		for id := 2; id < f.hwm; id++ {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			if info != nil && (info.Type == "leaf" || info.Type == "branch") && id != f.root {
				f.live = append(f.live, id)
			}
		}
		return nil
	})
	if err = errors.Join(err, db.Close()); err != nil {
		return nil, err
	}
	if len(f.live) < 16 {
		return nil, fmt.Errorf("fixture has only %d live pages", len(f.live))
	}
	return f, nil
}

// damage is one way of damaging the fixture's bytes.
type damage struct {
	name string
	do   func(f *damageFixture, b []byte) []byte
}

func overwritePages(seed uint64, pages ...int) func(f *damageFixture, b []byte) []byte {
	return func(f *damageFixture, b []byte) []byte {
		for _, pg := range pages {
			copy(b[pg*f.psize:(pg+1)*f.psize], fill(seed+uint64(pg), f.psize))
		}
		return b
	}
}

// randomLive overwrites n live pages drawn with seed.
func randomLive(seed uint64, n int) func(f *damageFixture, b []byte) []byte {
	return func(f *damageFixture, b []byte) []byte {
		r := rand.New(rand.NewPCG(seed, 1))
		pages := slices.Clone(f.live)
		r.Shuffle(len(pages), func(i, j int) { pages[i], pages[j] = pages[j], pages[i] })
		return overwritePages(seed, pages[:n]...)(f, b)
	}
}

func damages() []damage {
	used := func(f *damageFixture) int { return f.hwm * f.psize }
	return []damage{
		{"truncated to 50%", func(f *damageFixture, b []byte) []byte { return b[:used(f)/2] }},
		{"truncated to 10%", func(f *damageFixture, b []byte) []byte { return b[:used(f)/10] }},
		{"truncated by one page", func(f *damageFixture, b []byte) []byte { return b[:used(f)-f.psize] }},
		{"truncated by one byte", func(f *damageFixture, b []byte) []byte { return b[:used(f)-1] }},
		{"1 random live page, seed 1", randomLive(1, 1)},
		{"1 random live page, seed 2", randomLive(2, 1)},
		{"8 random live pages, seed 3", randomLive(3, 8)},
		{"8 random live pages, seed 4", randomLive(4, 8)},
		{"the root page", func(f *damageFixture, b []byte) []byte { return overwritePages(5, f.root)(f, b) }},
		{"both meta pages zeroed", func(f *damageFixture, b []byte) []byte {
			clear(b[:2*f.psize])
			return b
		}},
		{"the freelist page", func(f *damageFixture, b []byte) []byte { return overwritePages(6, f.free)(f, b) }},
		{"all zeros", func(f *damageFixture, b []byte) []byte { clear(b); return b }},
		{"an empty file", func(f *damageFixture, b []byte) []byte { return nil }},
		{"a text file", func(f *damageFixture, b []byte) []byte {
			return []byte("chain:\n  id: actorchain-test\n  pow_bits: 3\n")
		}},
		{"a sqlite file", func(f *damageFixture, b []byte) []byte {
			out := make([]byte, 4*4096)
			copy(out, "SQLite format 3\x00")
			binary.BigEndian.PutUint16(out[16:], 4096)
			return out
		}},
	}
}

// writeDamaged writes the damaged copy and returns its path and sha256.
func writeDamaged(t *testing.T, f *damageFixture, d damage) (string, [32]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "chain.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	b := d.do(f, slices.Clone(f.data))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, sha256.Sum256(b)
}

func requireUnchanged(t *testing.T, path string, want [32]byte, after string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("after %s: %v", after, err)
	}
	if sha256.Sum256(b) != want {
		t.Fatalf("%s changed the damaged file %s", after, path)
	}
}

func requireDamageErr(t *testing.T, err error, path, what string) {
	t.Helper()
	if !errors.Is(err, ErrDamaged) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("%s: error %v, want one wrapping ErrDamaged", what, err)
	}
	if !strings.Contains(err.Error(), "damaged") || !strings.Contains(err.Error(), path) {
		t.Fatalf("%s: error %q does not say damaged and name %s", what, err, path)
	}
}

// TestDamagedDatabaseTable runs every damage against Open (plus the page walk when Open's cheap
// checks do not reach the damaged page), Verify, Check and Salvage: no panic, the damage named
// with the path, the file unchanged, and Salvage leaving a verifiable chain.
func TestDamagedDatabaseTable(t *testing.T) {
	f := getDamageFixture(t)
	for _, d := range damages() {
		t.Run(d.name, func(t *testing.T) {
			path, sum := writeDamaged(t, f, d)

			s, err := Open(path, f.p, testTimeout)
			if err == nil {
				// Open's checks read a few pages: the walk must find the rest.
				var hooked atomic.Pointer[error]
				s.SetOnDamage(func(err error) { hooked.Store(&err) })
				_, err = s.WalkPages(context.Background(), 7)
				if cerr := s.Close(); cerr != nil {
					t.Fatal(cerr)
				}
				requireDamageErr(t, err, path, "open then page walk")
				if hooked.Load() == nil {
					t.Fatal("the page walk found damage but did not call the damage hook")
				}
			} else {
				requireDamageErr(t, err, path, "open")
			}
			requireUnchanged(t, path, sum, "open")

			_, err = Verify(path, f.p, testTimeout)
			requireDamageErr(t, err, path, "verify")
			requireUnchanged(t, path, sum, "verify")

			rep, err := Check(path, f.p, testTimeout)
			if err != nil {
				t.Fatalf("check: %v", err)
			}
			if rep.OK || len(rep.Problems) == 0 || rep.Path != path {
				t.Fatalf("check report %+v, want not ok with problems for %s", rep, path)
			}
			requireUnchanged(t, path, sum, "check")

			now := time.Unix(1_800_000_000, 0)
			srep, err := Salvage(path, f.p, testTimeout, now)
			if err != nil {
				t.Fatalf("salvage: %v", err)
			}
			aside := path + ".damaged-1800000000"
			if srep.MovedAside != aside {
				t.Fatalf("moved aside to %s, want %s", srep.MovedAside, aside)
			}
			requireUnchanged(t, aside, sum, "salvage (the file moved aside)")
			if srep.Height > f.height || srep.BlocksRecovered != srep.Height {
				t.Fatalf("salvage report %+v for a chain of height %d", srep, f.height)
			}
			vrep, err := Verify(path, f.p, testTimeout)
			if err != nil {
				t.Fatalf("verify after salvage: %v", err)
			}
			if vrep.Height != srep.Height {
				t.Fatalf("salvaged database at height %d, report says %d", vrep.Height, srep.Height)
			}
			t.Logf("salvage: height %d of %d, %d peers, %d mempool (%s)", srep.Height, f.height, srep.PeersRecovered, srep.MempoolRecovered, srep.StoppedAt)
		})
	}
}

// TestUndamagedDatabase: the fixture itself opens, walks, verifies, checks clean and salvages
// completely; a torn newest meta page (a crash while bbolt wrote it) is not damage.
func TestUndamagedDatabase(t *testing.T) {
	f := getDamageFixture(t)
	for _, d := range []damage{
		{"intact", func(f *damageFixture, b []byte) []byte { return b }},
		{"newest meta page torn", func(f *damageFixture, b []byte) []byte {
			m0, _ := parseBoltMeta(b)
			m1, _ := parseBoltMeta(b[f.psize:])
			newest := 0
			if m1.TxID > m0.TxID {
				newest = 1
			}
			copy(b[newest*f.psize+boltPageHeader:], fill(9, 32))
			return b
		}},
	} {
		t.Run(d.name, func(t *testing.T) {
			path, sum := writeDamaged(t, f, d)
			s, err := Open(path, f.p, testTimeout)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			rep, err := s.WalkPages(context.Background(), 5)
			if err = errors.Join(err, s.Close()); err != nil {
				t.Fatalf("walk: %v", err)
			}
			if rep.Keys < int(f.height)*4 || rep.Chunks < 10 || rep.Buckets != len(allBuckets) {
				t.Fatalf("walk report %+v: too little read", rep)
			}
			requireUnchanged(t, path, sum, "open and walk")
			crep, err := Check(path, f.p, testTimeout)
			if err != nil || !crep.OK || len(crep.Problems) != 0 || crep.Pages != uint64(f.hwm) && d.name == "intact" {
				t.Fatalf("check: %+v, %v (hwm %d)", crep, err, f.hwm)
			}
			if d.name != "intact" {
				return
			}
			srep, err := Salvage(path, f.p, testTimeout, time.Unix(5, 0))
			if err != nil {
				t.Fatal(err)
			}
			want := SalvageReport{MovedAside: path + ".damaged-5", Height: f.height, BlocksRecovered: f.height, PeersRecovered: 40, MempoolRecovered: 3}
			if *srep != want {
				t.Fatalf("salvage %+v, want %+v", *srep, want)
			}
			if _, err := Verify(path, f.p, testTimeout); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDamageUnderOpenStore: pages overwritten, or the file truncated, while a store has it open
// (bbolt maps the file, so reads see the new bytes): every read returns a damage error, none
// panics, and the damage hook hears of it.
func TestDamageUnderOpenStore(t *testing.T) {
	f := getDamageFixture(t)
	for _, how := range []string{"pages overwritten", "truncated"} {
		t.Run(how, func(t *testing.T) {
			path, _ := writeDamaged(t, f, damage{"intact", func(f *damageFixture, b []byte) []byte { return b }})
			s, err := Open(path, f.p, testTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var hooks atomic.Int64
			s.SetOnDamage(func(err error) {
				if errors.Is(err, ErrDamaged) {
					hooks.Add(1)
				}
			})
			fh, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			if how == "truncated" {
				err = fh.Truncate(int64(3 * f.psize))
			} else {
				for _, pg := range f.live {
					if _, err = fh.WriteAt(fill(uint64(pg), f.psize), int64(pg*f.psize)); err != nil {
						break
					}
				}
			}
			if err = errors.Join(err, fh.Close()); err != nil {
				t.Fatal(err)
			}
			reads := map[string]func() error{
				"index": func() error { _, err := s.Index(); return err },
				"tip":   func() error { _, err := s.Tip(); return err },
				"peers": func() error { _, err := s.Peers(); return err },
				"walk":  func() error { _, err := s.WalkPages(context.Background(), 0); return err },
			}
			for name, read := range reads {
				requireDamageErr(t, read(), path, name)
			}
			if hooks.Load() < int64(len(reads)) {
				t.Fatalf("damage hook called %d times for %d damaged reads", hooks.Load(), len(reads))
			}
		})
	}
}

// TestOpenMissingCreatesEmptyRefuses: only a missing file starts a new chain; an empty file and
// an empty bbolt database (no chain in it) are damage and stay as they are.
func TestOpenMissingCreatesEmptyRefuses(t *testing.T) {
	p := testParams(nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "chain.db")
	s, err := Open(path, p, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".new"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the temporary file of the creation is left: %v", err)
	}
	if _, err := Verify(path, p, testTimeout); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.db")
	bare := filepath.Join(dir, "bare.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(bare, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{empty, bare} {
		before, _ := os.ReadFile(file)
		_, err := Open(file, p, testTimeout)
		requireDamageErr(t, err, file, "open "+filepath.Base(file))
		requireUnchanged(t, file, sha256.Sum256(before), "open "+filepath.Base(file))
	}
}

// metaPage builds a valid meta page (page size ps) for checkLayout's table.
func metaPage(ps uint32, root, freelist, hwm, txid uint64) []byte {
	b := make([]byte, ps)
	le := binary.LittleEndian
	m := b[boltPageHeader:]
	le.PutUint32(m[0:], boltMagic)
	le.PutUint32(m[4:], boltVersion)
	le.PutUint32(m[8:], ps)
	le.PutUint64(m[16:], root)
	le.PutUint64(m[32:], freelist)
	le.PutUint64(m[40:], hwm)
	le.PutUint64(m[48:], txid)
	le.PutUint64(m[56:], fnv64a(m[:56]))
	return b
}

func pageHdr(ps uint32, id uint64, flags, count uint16, ids ...uint64) []byte {
	b := make([]byte, ps)
	le := binary.LittleEndian
	le.PutUint64(b, id)
	le.PutUint16(b[8:], flags)
	le.PutUint16(b[10:], count)
	for i, x := range ids {
		le.PutUint64(b[boltPageHeader+8*i:], x)
	}
	return b
}

func TestCheckLayout(t *testing.T) {
	const ps = 512
	file := func(pages ...[]byte) []byte { return bytes.Join(pages, nil) }
	good := func() [][]byte {
		return [][]byte{metaPage(ps, 3, 2, 5, 7), metaPage(ps, 3, 2, 5, 6), pageHdr(ps, 2, boltFreelistFlag, 1, 4), pageHdr(ps, 3, boltLeafFlag, 0), pageHdr(ps, 4, 0, 0)}
	}
	with := func(i int, p []byte) []byte { g := good(); g[i] = p; return file(g...) }
	tests := []struct {
		name string
		data []byte
		want string // substring of the problem; "" for none
	}{
		{"good", file(good()...), ""},
		{"older meta broken", with(1, make([]byte, ps)), ""},
		{"newer meta broken", with(0, make([]byte, ps)), ""},
		{"empty", nil, "empty"},
		{"short", []byte("hello"), "too short"},
		{"both metas broken", file(make([]byte, ps), make([]byte, ps), make([]byte, 3*ps)), "no valid meta"},
		{"truncated", file(good()...)[:4*ps], "truncated"},
		{"root out of range", with(0, metaPage(ps, 9, 2, 5, 7)), "root page 9"},
		{"root not a tree page", with(3, pageHdr(ps, 3, boltFreelistFlag, 0)), "root page 3 is overwritten"},
		{"root names another page", with(3, pageHdr(ps, 8, boltLeafFlag, 0)), "root page 3 is overwritten"},
		{"no freelist", with(0, metaPage(ps, 3, boltNoFreelist, 5, 7)), "no freelist"},
		{"freelist overwritten", with(2, pageHdr(ps, 99, 0x7, 1, 4)), "freelist page 2 is overwritten"},
		{"freelist id out of range", with(2, pageHdr(ps, 2, boltFreelistFlag, 2, 4, 77)), "lists page 77"},
		{"freelist count too big", with(2, pageHdr(ps, 2, boltFreelistFlag, 200)), "more than its"},
		{"bad page size", file(metaPage(1000, 3, 2, 5, 7), make([]byte, 4*ps)), "page size 1000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, problem := checkLayout(int64(len(tc.data)), bytes.NewReader(tc.data))
			if (tc.want == "") != (problem == "") || !strings.Contains(problem, tc.want) {
				t.Fatalf("problem %q, want one containing %q", problem, tc.want)
			}
		})
	}
}

func TestProblemList(t *testing.T) {
	p := &problemList{max: 2}
	if got := p.list(); got == nil || len(got) != 0 {
		t.Fatalf("empty list %#v, want [] (never nil: it is printed as JSON)", got)
	}
	p.add(nil)
	for i := range 5 {
		p.add(fmt.Errorf("problem %d", i))
	}
	want := []string{"problem 0", "problem 1", "... and 3 more problems"}
	if got := p.list(); !slices.Equal(got, want) {
		t.Fatalf("list %q, want %q", got, want)
	}
}

// TestBucketWalkChunks: a chunked walk reads every key once, in order, whatever the chunk size,
// and finds a value that does not decode.
func TestBucketWalkChunks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 1000
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("any"))
		if err != nil {
			return err
		}
		for i := range n {
			if err := b.Put(be.AppendUint32(nil, uint32(i*7)), []byte{byte(i)}); err != nil {
				return err
			}
		}
		nb, err := b.CreateBucket([]byte("zz-nested"))
		if err != nil {
			return err
		}
		return nb.Put([]byte("k"), []byte("v"))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{1, 3, 64, n + 10} {
		w := &bucketWalk{name: []byte("any")}
		total, steps := 0, 0
		for !w.done {
			err := db.View(func(tx *bolt.Tx) error {
				m, err := w.step(tx.Bucket([]byte("any")), chunk)
				total += m
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			steps++
		}
		if total != n+2 || steps < (n+1)/chunk {
			t.Fatalf("chunk %d: %d keys in %d steps, want %d keys", chunk, total, steps, n+2)
		}
	}
	w := &bucketWalk{name: []byte("any"), check: func(k, v []byte) error {
		if v[0] == 200 {
			return fmt.Errorf("bad value: %w", ErrCorrupt)
		}
		return nil
	}}
	err = db.View(func(tx *bolt.Tx) error { _, err := w.step(tx.Bucket([]byte("any")), n); return err })
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "bucket any") {
		t.Fatalf("walk error %v, want the bad value in bucket any", err)
	}
}

// TestHoldWrites: a held write waits for the release; a release with damage refuses it and every
// later write; the hold ends by itself after its max.
func TestHoldWrites(t *testing.T) {
	p := testParams(nil)
	peer := []PeerRecord{{ID: [32]byte{1}, Addr: "10.0.0.1:1"}}
	t.Run("release", func(t *testing.T) {
		s, _ := openTestStore(t, p, true)
		release := s.HoldWrites(time.Minute)
		done := make(chan error, 1)
		go func() { done <- s.PutPeers(peer, nil) }()
		select {
		case err := <-done:
			t.Fatalf("a held write returned before the release: %v", err)
		case <-time.After(50 * time.Millisecond): // NB: checks that it is still waiting
		}
		release(nil)
		release(nil)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got, err := s.Peers(); err != nil || len(got) != 1 {
			t.Fatalf("peers %v, %v", got, err)
		}
	})
	t.Run("damage", func(t *testing.T) {
		s, path := openTestStore(t, p, false)
		release := s.HoldWrites(time.Minute)
		done := make(chan error, 1)
		go func() { done <- s.PutPeers(peer, nil) }()
		release(damaged(path, "found by the walk"))
		for _, err := range []error{<-done, s.PutPeers(peer, nil)} {
			requireDamageErr(t, err, path, "write after the walk found damage")
		}
		if got, err := s.Peers(); err != nil || len(got) != 0 {
			t.Fatalf("a refused write was made: %v, %v", got, err)
		}
	})
	t.Run("max", func(t *testing.T) {
		s, _ := openTestStore(t, p, true)
		s.HoldWrites(20 * time.Millisecond)
		start := time.Now()
		if err := s.PutPeers(peer, nil); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 15*time.Millisecond {
			t.Fatalf("the write did not wait for the hold (%s)", d)
		}
	})
}

// TestSalvageAroundDamagedMainBucket: with the main bucket's root page overwritten, salvage
// follows the chain through the index and recovers every block.
func TestSalvageAroundDamagedMainBucket(t *testing.T) {
	f := getDamageFixture(t)
	clean, _ := writeDamaged(t, f, damage{"intact", func(f *damageFixture, b []byte) []byte { return b }})
	db, err := bolt.Open(clean, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var root int
	err = db.View(func(tx *bolt.Tx) error { root = int(tx.Bucket(bucketMain).Root()); return nil })
	if err = errors.Join(err, db.Close()); err != nil || root == 0 {
		t.Fatalf("main bucket root %d: %v", root, err)
	}
	path, sum := writeDamaged(t, f, damage{"main root", overwritePages(11, root)})
	if _, err := Verify(path, f.p, testTimeout); !errors.Is(err, ErrDamaged) {
		t.Fatalf("verify: %v, want damage", err)
	}
	rep, err := Salvage(path, f.p, testTimeout, time.Unix(7, 0))
	if err != nil {
		t.Fatal(err)
	}
	requireUnchanged(t, rep.MovedAside, sum, "salvage")
	if rep.Height != f.height || rep.BlocksRecovered != f.height || rep.StoppedAt != "" {
		t.Fatalf("salvage %+v, want every one of %d blocks through the index", *rep, f.height)
	}
	if _, err := Verify(path, f.p, testTimeout); err != nil {
		t.Fatal(err)
	}
}

// TestCheckLayoutProperties: checkLayout never panics on any bytes, finds every truncation below
// the high-water mark, and any random overwrite of a meta page leaves the other one in use.
func TestCheckLayoutProperties(t *testing.T) {
	f := getDamageFixture(t)
	rapid.Check(t, func(rt *rapid.T) {
		junk := rapid.SliceOfN(rapid.Byte(), 0, 3*4096).Draw(rt, "junk")
		_, _ = checkLayout(int64(len(junk)), bytes.NewReader(junk))

		cut := rapid.IntRange(0, f.hwm*f.psize-1).Draw(rt, "cut")
		if _, problem := checkLayout(int64(cut), bytes.NewReader(f.data[:cut])); problem == "" {
			rt.Fatalf("a file cut to %d bytes of %d in use passes", cut, f.hwm*f.psize)
		}

		b := slices.Clone(f.data)
		meta := rapid.IntRange(0, 1).Draw(rt, "meta")
		copy(b[meta*f.psize:(meta+1)*f.psize], rapid.SliceOfN(rapid.Byte(), f.psize, f.psize).Draw(rt, "page"))
		m, problem := checkLayout(int64(len(b)), bytes.NewReader(b))
		// The other meta page is valid: either it was the newest, or it is the older one (whose
		// tree a clean close leaves intact).
		if problem != "" || m.PageSize != uint32(f.psize) {
			rt.Fatalf("meta page %d overwritten: problem %q", meta, problem)
		}
	})
}
