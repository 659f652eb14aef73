package chainstate

import (
	"errors"
	"maps"
	"testing"
)

// TestStoreBeforeCommitRollsBack: with a failing before-commit check every write method fails
// with that error and leaves every bucket as it was; without it the same writes succeed.
func TestStoreBeforeCommitRollsBack(t *testing.T) {
	f := newForkScenario(t)
	s, _ := openTestStore(t, f.p, true)
	connectAll(t, s, f.a1)
	if err := s.PutBlock(f.b1, nil); err != nil {
		t.Fatal(err)
	}
	injected := errors.New("injected")
	calls := 0
	s.SetBeforeCommit(func() error { calls++; return injected })
	before := dump(t, s)
	writes := []struct {
		name string
		do   func() error
	}{
		{"connect", func() error { _, err := s.Connect(f.a2); return err }},
		{"put block", func() error { return s.PutBlock(f.b2, nil) }},
		{"reorg", func() error {
			_, err := s.Reorg([]Hash{f.a1.Hash()}, []*Block{f.b1, f.b2, f.b3})
			return err
		}},
		{"put mempool", func() error { return s.PutMempool([]*Tx{f.t2}, nil) }},
		{"mark invalid", func() error { return s.MarkInvalid(f.b1.Hash()) }},
		{"put peers", func() error { return s.PutPeers([]PeerRecord{{ID: [32]byte{1}, Addr: "127.0.0.1:1"}}, nil) }},
	}
	for _, w := range writes {
		if err := w.do(); !errors.Is(err, injected) {
			t.Fatalf("%s with a failing check: err %v, want the injected error", w.name, err)
		}
	}
	if calls != len(writes) {
		t.Fatalf("check ran %d times for %d writes", calls, len(writes))
	}
	after := dump(t, s)
	for name, b := range before {
		if !maps.Equal(b, after[name]) {
			t.Fatalf("bucket %s changed although every commit failed", name)
		}
	}
	// A rule violation is reported as such, not masked by the check: the check runs only when
	// the transaction's own work succeeded.
	if _, err := s.Connect(f.b2); errors.Is(err, injected) {
		t.Fatalf("connect of a block that does not extend the tip: %v, want its own error", err)
	}

	s.SetBeforeCommit(nil)
	for _, w := range writes[:2] {
		if err := w.do(); err != nil {
			t.Fatalf("%s without the check: %v", w.name, err)
		}
	}
	if tip, err := s.Tip(); err != nil || tip.Hash != f.a2.Hash() {
		t.Fatalf("tip %v %v, want a2", tip.Hash, err)
	}
}
