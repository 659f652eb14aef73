package noisep2p

import (
	"strings"
	"testing"
)

func TestIntOrDefault(t *testing.T) {
	tests := []struct {
		name   string
		v, def int
		want   int
		err    string
	}{
		{"zero takes the default", 0, 64, 64, ""},
		{"a value is kept", 5, 64, 5, ""},
		{"negative", -1, 64, 0, "noisep2p: config: X must be >= 0, got -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := intOrDefault("X", tc.v, tc.def)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

func TestSetLimits(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[uint8]uint32
		typ       uint8
		want      uint32
		err       string
	}{
		{"default", nil, MsgBlock, BlockLimit, ""},
		{"override", map[uint8]uint32{MsgBlock: 7}, MsgBlock, 7, ""},
		{"zero keeps the default", map[uint8]uint32{MsgTx: 0}, MsgTx, TxLimit, ""},
		{"at the cap", map[uint8]uint32{9: MaxMessageCap}, 9, MaxMessageCap, ""},
		{"over the cap", map[uint8]uint32{9: MaxMessageCap + 1}, 0, 0, "MaxMessage[9]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s settings
			err := s.setLimits(tc.overrides)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil || s.limits[tc.typ] != tc.want {
				t.Fatalf("limit of %d: %d, %v; want %d", tc.typ, s.limits[tc.typ], err, tc.want)
			}
			if s.limits[200] != ControlLimit {
				t.Fatalf("limit of an unknown type %d, want %d", s.limits[200], ControlLimit)
			}
		})
	}
}
