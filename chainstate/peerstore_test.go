package chainstate

import (
	"errors"
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
		p.Tried = rapid.Bool().Draw(t, "tried")
		p.Source = rapid.StringMatching(`[a-z0-9.:]{0,255}`).Draw(t, "source")
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
	if err := s.PutPeers([]PeerRecord{{ID: [32]byte{3}, Addr: "h:1", Source: string(make([]byte, 256))}}, nil); err == nil {
		t.Fatal("a 256-byte source group was stored")
	}
}

// TestPeerRecordFormats: a record written before the bucketed book (no flags, no source) still
// decodes, as a new entry of no source; a damaged tail is ErrCorrupt.
func TestPeerRecordFormats(t *testing.T) {
	p := PeerRecord{ID: [32]byte{9}, Addr: "127.0.0.1:7600", LastSeen: 5, Failures: 2, BannedUntil: 3, Tried: true, Source: "4:10.1"}
	cur := encodePeer(&p)
	old := cur[:len(cur)-2-len(p.Source)]
	got, err := decodePeer(p.ID[:], old)
	want := p
	want.Tried, want.Source = false, ""
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("old record: %+v, %v; want %+v", got, err, want)
	}
	for name, v := range map[string][]byte{
		"flags without source length": cur[:len(old)+1],
		"source cut short":            cur[:len(cur)-1],
		"trailing byte":               append(append([]byte{}, cur...), 0),
		"unknown flag":                append(append(append([]byte{}, old...), 2, byte(len(p.Source))), p.Source...),
	} {
		if _, err := decodePeer(p.ID[:], v); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}
