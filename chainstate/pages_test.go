package chainstate

import "testing"

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
