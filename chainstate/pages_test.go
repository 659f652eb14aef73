package chainstate

import (
	"bytes"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestPagesMapsLiveData: a store with some blocks has live branch/leaf pages inside the
// high-water mark, never the meta pages.
func TestPagesMapsLiveData(t *testing.T) {
	f := newForkScenario(t)
	s, path := openTestStore(t, f.p, true)
	connectAll(t, s, f.a1, f.a2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := Pages(path, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if m.PageSize < 512 || m.HighWater < 3 || len(m.Live) == 0 {
		t.Fatalf("page map %+v: want a page size, a high-water mark and live pages", m)
	}
	for _, id := range m.Live {
		if id < 2 || id >= m.HighWater {
			t.Fatalf("live page %d outside [2, %d)", id, m.HighWater)
		}
	}
}

// TestPagesSkipsFreePagesOneByOne: a free page that was the middle of a freed overflow run has
// the run's data where a header would be (an overflow count of 2^32-1 here); the walk takes it
// as one page and reports the meta page's high-water mark.
func TestPagesSkipsFreePagesOneByOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: testTimeout})
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{0xff}, 6*db.Info().PageSize)
	steps := []func(*bolt.Tx) error{
		func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket([]byte("b"))
			if err != nil {
				return err
			}
			return b.Put([]byte("big"), big)
		},
		func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Delete([]byte("big")) },
		func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte("small"), []byte{1}) },
		func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte("small2"), []byte{2}) },
	}
	var want int
	var freeMiddle bool
	for _, step := range steps {
		if err := db.Update(step); err != nil {
			t.Fatal(err)
		}
	}
	err = db.View(func(tx *bolt.Tx) error {
		want = int(tx.Size()) / db.Info().PageSize
		for id := 2; id < want; id++ {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			if info != nil && info.Type == "free" && info.OverflowCount > want {
				freeMiddle = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if !freeMiddle {
		t.Fatal("the scenario left no free page whose header reads as a long overflow run")
	}
	m, err := Pages(path, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if m.HighWater != want {
		t.Fatalf("high-water mark %d, want the meta page's %d", m.HighWater, want)
	}
	if len(m.Live) == 0 {
		t.Fatal("no live page")
	}
	for _, id := range m.Live {
		if id < 2 || id >= m.HighWater {
			t.Fatalf("live page %d outside [2, %d)", id, m.HighWater)
		}
	}
}
