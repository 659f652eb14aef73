package noisep2p

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestKeepOutbound(t *testing.T) {
	small, big := ID{0x01}, ID{0x02}
	for _, tc := range []struct {
		name          string
		local, remote ID
		outbound      bool
		keep          bool
	}{
		{"we are smaller, our dial", small, big, true, true},
		{"we are smaller, their dial", small, big, false, false},
		{"we are bigger, our dial", big, small, true, false},
		{"we are bigger, their dial", big, small, false, true},
		{"differ in the last byte", ID{31: 1}, ID{31: 2}, true, true},
		{"self", small, small, true, false},
		{"self inbound", small, small, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := KeepOutbound(tc.local, tc.remote, tc.outbound); got != tc.keep {
				t.Fatalf("KeepOutbound = %v, want %v", got, tc.keep)
			}
		})
	}
	// Both ends of a simultaneous dial agree: exactly one of the two connections survives.
	a, b := ID{5}, ID{9}
	aKeepsOwn, bKeepsAs := KeepOutbound(a, b, true), KeepOutbound(b, a, false)
	aKeepsB, bKeepsOwn := KeepOutbound(a, b, false), KeepOutbound(b, a, true)
	if aKeepsOwn != bKeepsAs || aKeepsB != bKeepsOwn || aKeepsOwn == aKeepsB {
		t.Fatal("the two ends disagree")
	}
}

func TestParseID(t *testing.T) {
	k := mustKey(t)
	id := IDFromKey(k.PublicKey())
	s := id.String()
	if len(s) != 64 || strings.ToLower(s) != s || id.Short() != s[:8] {
		t.Fatalf("String %q Short %q", s, id.Short())
	}
	for _, in := range []string{s, strings.ToUpper(s)} {
		if got, err := ParseID(in); err != nil || got != id {
			t.Fatalf("ParseID(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", s[:63], s + "0", "zz" + s[2:]} {
		if _, err := ParseID(bad); err == nil {
			t.Fatalf("ParseID(%q) accepted", bad)
		}
	}
	j, _ := json.Marshal(map[string]ID{"id": id})
	var back map[string]ID
	if err := json.Unmarshal(j, &back); err != nil || back["id"] != id {
		t.Fatalf("json %s: %v", j, err)
	}
	if (ID{}).IsZero() != true || id.IsZero() {
		t.Fatal("IsZero")
	}
}

func TestParsePeerAddr(t *testing.T) {
	id := IDFromKey(mustKey(t).PublicKey())
	got, addr, err := ParsePeerAddr(id.String() + "@127.0.0.1:7600")
	if err != nil || got != id || addr != "127.0.0.1:7600" {
		t.Fatalf("%v %q %v", got, addr, err)
	}
	for _, bad := range []string{"127.0.0.1:7600", id.String() + "@127.0.0.1", "abc@127.0.0.1:1", id.String() + "@:1"} {
		if _, _, err := ParsePeerAddr(bad); err == nil {
			t.Fatalf("ParsePeerAddr(%q) accepted", bad)
		}
	}
}
