package noisep2p

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"pgregory.net/rapid"
)

func genCmpctBlock() *rapid.Generator[CmpctBlock] {
	return rapid.Custom(func(t *rapid.T) CmpctBlock {
		var m CmpctBlock
		copy(m.Header[:], rapid.SliceOfN(rapid.Byte(), CmpctHeaderSize, CmpctHeaderSize).Draw(t, "header"))
		m.Nonce = rapid.Uint64().Draw(t, "nonce")
		m.ShortIDs = rapid.SliceOfN(rapid.Uint64Range(0, MaxShortID), 0, 50).Draw(t, "ids")
		np := rapid.IntRange(0, 10).Draw(t, "prefilled")
		total := len(m.ShortIDs) + np
		// np distinct indexes below total, increasing.
		idx := rapid.SliceOfNDistinct(rapid.IntRange(0, max(total-1, 0)), np, np, rapid.ID[int]).Draw(t, "idx")
		sortInts(idx)
		for _, i := range idx {
			raw := rapid.SliceOfN(rapid.Byte(), 1, 300).Draw(t, "raw")
			m.Prefilled = append(m.Prefilled, PrefilledTx{Index: uint32(i), Raw: raw})
		}
		return m
	})
}

func sortInts(s []int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestCompactMessagesRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genCmpctBlock().Draw(t, "cmpct")
		if err := m.Validate(); err != nil {
			t.Fatalf("generated invalid: %v", err)
		}
		got, err := DecodeMessage(MsgCmpctBlock, m.Encode())
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !bytes.Equal(got.Encode(), m.Encode()) {
			t.Fatal("cmpctblock does not round-trip")
		}
		idx := rapid.SliceOfNDistinct(rapid.Uint32Range(0, MaxCmpctTxs-1), 1, 40, rapid.ID[uint32]).Draw(t, "indexes")
		for i := 1; i < len(idx); i++ {
			for j := i; j > 0 && idx[j] < idx[j-1]; j-- {
				idx[j], idx[j-1] = idx[j-1], idx[j]
			}
		}
		g := GetBlockTxn{Hash: [32]byte{byte(len(idx))}, Indexes: idx}
		if back, err := DecodeGetBlockTxn(g.Encode()); err != nil || !bytes.Equal(back.Encode(), g.Encode()) {
			t.Fatalf("getblocktxn round trip: %v", err)
		}
		txs := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 1, 200), 1, 20).Draw(t, "txs")
		bt := BlockTxn{Hash: [32]byte{7}, Txs: txs}
		if back, err := DecodeBlockTxn(bt.Encode()); err != nil || !bytes.Equal(back.Encode(), bt.Encode()) {
			t.Fatalf("blocktxn round trip: %v", err)
		}
	})
}

// TestCompactMessageExamples pins the documented examples of docs/protocol.md byte for byte.
func TestCompactMessageExamples(t *testing.T) {
	m := CmpctBlock{Nonce: 5, ShortIDs: []uint64{0x0102030405_06}, Prefilled: []PrefilledTx{{Index: 1, Raw: []byte{0xaa, 0xbb}}}}
	want := append(make([]byte, CmpctHeaderSize),
		0, 0, 0, 0, 0, 0, 0, 5, // nonce
		0, 0, 0, 1, 1, 2, 3, 4, 5, 6, // one short id
		0, 0, 0, 1, 0, 0, 0, 1, 0, 2, 0xaa, 0xbb) // one prefilled at index 1
	if got := m.Encode(); !bytes.Equal(got, want) {
		t.Fatalf("cmpctblock example:\n got %x\nwant %x", got, want)
	}
	g := GetBlockTxn{Hash: [32]byte{0xcc}, Indexes: []uint32{0, 7}}
	wantG := append(append([]byte{0xcc}, make([]byte, 31)...), 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7)
	if !bytes.Equal(g.Encode(), wantG) {
		t.Fatalf("getblocktxn example: %x", g.Encode())
	}
	b := BlockTxn{Hash: [32]byte{0xcc}, Txs: [][]byte{{1, 2, 3}}}
	wantB := append(append([]byte{0xcc}, make([]byte, 31)...), 0, 0, 0, 1, 0, 3, 1, 2, 3)
	if !bytes.Equal(b.Encode(), wantB) {
		t.Fatalf("blocktxn example: %x", b.Encode())
	}
	if !bytes.Equal(SendCmpct{HighBandwidth: true}.Encode(), []byte{1}) || !bytes.Equal(SendCmpct{}.Encode(), []byte{0}) {
		t.Fatal("sendcmpct encoding")
	}
}

func TestCompactMessagesRejected(t *testing.T) {
	valid := CmpctBlock{ShortIDs: []uint64{1, 2}, Prefilled: []PrefilledTx{{Index: 0, Raw: []byte{9}}}}.Encode()
	hdr := make([]byte, CmpctHeaderSize+8)
	cmpct := func(nShort uint32, ids []byte, nPre uint32, pre []byte) []byte {
		b := append([]byte(nil), hdr...)
		b = binary.BigEndian.AppendUint32(b, nShort)
		b = append(b, ids...)
		b = binary.BigEndian.AppendUint32(b, nPre)
		return append(b, pre...)
	}
	pre := func(idx uint32, raw ...byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, idx)
		b = binary.BigEndian.AppendUint16(b, uint16(len(raw)))
		return append(b, raw...)
	}
	hash := make([]byte, 32)
	u32 := func(vs ...uint32) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.BigEndian.AppendUint32(b, v)
		}
		return b
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	for _, tc := range []struct {
		name string
		typ  uint8
		b    []byte
		ok   bool
	}{
		{"sendcmpct 0", MsgSendCmpct, []byte{0}, true},
		{"sendcmpct 1", MsgSendCmpct, []byte{1}, true},
		{"sendcmpct 2", MsgSendCmpct, []byte{2}, false},
		{"sendcmpct empty", MsgSendCmpct, nil, false},
		{"sendcmpct long", MsgSendCmpct, []byte{1, 0}, false},
		{"cmpct valid", MsgCmpctBlock, valid, true},
		{"cmpct empty block", MsgCmpctBlock, cmpct(0, nil, 0, nil), true},
		{"cmpct short header", MsgCmpctBlock, valid[:100], false},
		{"cmpct trailing", MsgCmpctBlock, append(append([]byte(nil), valid...), 0), false},
		{"cmpct count over limit", MsgCmpctBlock, cmpct(MaxCmpctTxs+1, nil, 0, nil), false},
		{"cmpct count past the end", MsgCmpctBlock, cmpct(1000, nil, 0, nil), false},
		{"cmpct prefilled past the end", MsgCmpctBlock, cmpct(0, nil, 5, pre(0, 1)), false},
		{"cmpct total over limit", MsgCmpctBlock, cmpct(MaxCmpctTxs, make([]byte, 6*MaxCmpctTxs), 1, pre(0, 1)), false},
		{"cmpct prefilled index out of range", MsgCmpctBlock, cmpct(0, nil, 1, pre(1, 1)), false},
		{"cmpct prefilled not increasing", MsgCmpctBlock, cmpct(1, make([]byte, 6), 2, cat(pre(1, 1), pre(1, 2))), false},
		{"cmpct prefilled empty tx", MsgCmpctBlock, cmpct(0, nil, 1, pre(0)), false},
		{"cmpct prefilled truncated", MsgCmpctBlock, cmpct(0, nil, 1, pre(0, 1, 2)[:7]), false},
		{"getblocktxn", MsgGetBlockTxn, cat(hash, u32(2, 0, 5)), true},
		{"getblocktxn none", MsgGetBlockTxn, cat(hash, u32(0)), false},
		{"getblocktxn not increasing", MsgGetBlockTxn, cat(hash, u32(2, 5, 5)), false},
		{"getblocktxn index over limit", MsgGetBlockTxn, cat(hash, u32(1, MaxCmpctTxs)), false},
		{"getblocktxn count over limit", MsgGetBlockTxn, cat(hash, u32(MaxCmpctTxs+1)), false},
		{"getblocktxn short", MsgGetBlockTxn, cat(hash, u32(2, 0)), false},
		{"getblocktxn trailing", MsgGetBlockTxn, cat(hash, u32(1, 0), []byte{0}), false},
		{"blocktxn", MsgBlockTxn, cat(hash, u32(1), []byte{0, 1, 7}), true},
		{"blocktxn none", MsgBlockTxn, cat(hash, u32(0)), false},
		{"blocktxn empty tx", MsgBlockTxn, cat(hash, u32(1), []byte{0, 0}), false},
		{"blocktxn count past the end", MsgBlockTxn, cat(hash, u32(1000), []byte{0, 1, 7}), false},
		{"blocktxn count over limit", MsgBlockTxn, cat(hash, u32(MaxCmpctTxs+1)), false},
		{"blocktxn truncated", MsgBlockTxn, cat(hash, u32(1), []byte{0, 5, 7}), false},
		{"blocktxn trailing", MsgBlockTxn, cat(hash, u32(1), []byte{0, 1, 7, 0}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeMessage(tc.typ, tc.b)
			if tc.ok != (err == nil) {
				t.Fatalf("DecodeMessage = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
		})
	}
	if GetBlockTxnLimit != len(cat(hash, u32(MaxCmpctTxs), make([]byte, 4*MaxCmpctTxs))) {
		t.Fatal("GetBlockTxnLimit is not the largest valid getblocktxn")
	}
	for typ, want := range map[uint8]uint32{MsgCmpctBlock: BlockLimit, MsgBlockTxn: BlockLimit, MsgGetBlockTxn: GetBlockTxnLimit, MsgSendCmpct: ControlLimit} {
		if got := DefaultLimit(typ); got != want {
			t.Fatalf("DefaultLimit(%s) = %d, want %d", MsgName(typ), got, want)
		}
	}
}

func TestHelloHasFeature(t *testing.T) {
	h := Hello{Features: FeatureCompactBlocks | 1<<7}
	if !h.HasFeature(FeatureCompactBlocks) || (&Hello{}).HasFeature(FeatureCompactBlocks) || h.HasFeature(1<<3) {
		t.Fatal("HasFeature")
	}
}

func FuzzDecodeCmpctBlock(f *testing.F) {
	f.Add(CmpctBlock{Nonce: 3, ShortIDs: []uint64{1, MaxShortID}, Prefilled: []PrefilledTx{{Index: 2, Raw: []byte{1}}}}.Encode())
	f.Add(CmpctBlock{}.Encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) { fuzzCanonical(t, b, DecodeCmpctBlock) })
}

func FuzzDecodeGetBlockTxn(f *testing.F) {
	f.Add(GetBlockTxn{Indexes: []uint32{0, 3, 99_999}}.Encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) { fuzzCanonical(t, b, DecodeGetBlockTxn) })
}

func FuzzDecodeBlockTxn(f *testing.F) {
	f.Add(BlockTxn{Txs: [][]byte{{1}, {2, 3}}}.Encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzCanonical(t, b, DecodeBlockTxn)
		fuzzCanonical(t, b, DecodeSendCmpct)
	})
}
