package chainstate

import (
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

func TestPeerRecordRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var p PeerRecord
		copy(p.ID[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "id"))
		p.Addr = rapid.StringMatching(`[a-z0-9.:]{1,255}`).Draw(t, "addr")
		p.LastSeen = rapid.Int64().Draw(t, "seen")
		p.Failures = rapid.Uint32().Draw(t, "failures")
		p.BannedUntil = rapid.Int64().Draw(t, "banned")
		got, err := decodePeer(p.ID[:], encodePeer(&p))
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Fatalf("round trip: %+v, %v; want %+v", got, err, p)
		}
	})
}

func TestPeerStore(t *testing.T) {
	s, _ := openTestStore(t, testParams(nil), true)
	a := PeerRecord{ID: [32]byte{1}, Addr: "127.0.0.1:7600", LastSeen: 5}
	b := PeerRecord{ID: [32]byte{2}, Addr: "127.0.0.1:7602", Failures: 3, BannedUntil: 9}
	if err := s.PutPeers([]PeerRecord{b, a}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Peers()
	if err != nil || !reflect.DeepEqual(got, []PeerRecord{a, b}) {
		t.Fatalf("peers = %+v, %v", got, err)
	}
	a.LastSeen = 7
	if err := s.PutPeers([]PeerRecord{a}, [][32]byte{b.ID}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Peers(); !reflect.DeepEqual(got, []PeerRecord{a}) {
		t.Fatalf("after update and delete: %+v", got)
	}
	if err := s.PutPeers([]PeerRecord{{ID: [32]byte{3}}}, nil); err == nil {
		t.Fatal("an empty address was stored")
	}
	if _, err := decodePeer(a.ID[:], []byte{0, 200, 1}); err == nil {
		t.Fatal("a truncated record decoded")
	}
}
