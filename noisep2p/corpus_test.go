package noisep2p

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/actorchain/actorchain/internal/testutil"
)

// The committed seed corpus of this package's fuzz targets lives in testdata/fuzz/<FuzzName>/, in
// the go test corpus file format: plain `go test` runs every file through its target, `go test
// -fuzz` starts from them. TestFuzzCorpus generates the files (valid encodings, edge cases and
// malformed inputs) and fails when one is missing or differs; FUZZ_CORPUS=write rewrites them:
//
//	FUZZ_CORPUS=write go test -run TestFuzzCorpus ./noisep2p/
//
// Crashers the fuzzer finds are committed next to them under their own names (and get a
// regression test); the check ignores files it does not generate.
func TestFuzzCorpus(t *testing.T) {
	one := testutil.BytesCorpus
	testutil.CheckCorpus(t, map[string]map[string][]any{
		"FuzzDecodeHello":       one(helloCorpus()),
		"FuzzDecodePing":        one(pingCorpus()),
		"FuzzDecodeAddr":        one(addrCorpus()),
		"FuzzDecodeInv":         one(invCorpus()),
		"FuzzDecodeGetBlocks":   one(getBlocksCorpus()),
		"FuzzDecodeDisconnect":  one(disconnectCorpus()),
		"FuzzDecodeMessage":     messageCorpus(),
		"FuzzReadFrame":         one(frameCorpus()),
		"FuzzDecodeCmpctBlock":  one(cmpctCorpus()),
		"FuzzDecodeGetBlockTxn": one(getBlockTxnCorpus()),
		"FuzzDecodeBlockTxn":    one(blockTxnCorpus()),
	})
}

// variants adds a valid encoding v under prefix and its usual damaged forms: cut by one byte, cut
// in half, one trailing byte, and a count or length prefix of all ones (the first n bytes 0xff).
func variants(out map[string][]byte, prefix string, v []byte, n int) {
	out[prefix] = v
	if len(v) > 0 {
		out[prefix+"-cut-last"] = v[:len(v)-1]
		out[prefix+"-cut-half"] = v[:len(v)/2]
	}
	out[prefix+"-trailing"] = append(bytes.Clone(v), 0)
	if n > 0 && len(v) >= n {
		f := bytes.Clone(v)
		copy(f, bytes.Repeat([]byte{0xff}, n))
		out[prefix+"-prefix-ones"] = f
	}
}

func helloCorpus() map[string][]byte {
	out := map[string][]byte{"empty": {}, "over-max": make([]byte, MaxHelloSize+1)}
	variants(out, "valid", (&Hello{Minor: 1, Genesis: testGenesis, BestHeight: 9, TipHash: [32]byte{7}, ListenAddr: "127.0.0.1:7600"}).Encode(), 0)
	variants(out, "valid-no-addr", (&Hello{Genesis: testGenesis}).Encode(), 0)
	variants(out, "valid-ipv6", (&Hello{ListenAddr: "[::1]:1"}).Encode(), 0)
	long := strings.Repeat("a", MaxAddrLen-len(":65535")) + ":65535"
	variants(out, "valid-longest-addr", (&Hello{Features: 1<<64 - 1, ListenAddr: long}).Encode(), 0)
	bad := (&Hello{ListenAddr: "127.0.0.1:0"}).Encode() // port 0: not a valid address
	out["bad-port-0"] = bad
	nonPrint := (&Hello{ListenAddr: "127.0.0.1:7600"}).Encode()
	nonPrint[len(nonPrint)-6] = 0x07
	out["bad-addr-control-char"] = nonPrint
	return out
}

func pingCorpus() map[string][]byte {
	out := map[string][]byte{"empty": {}}
	variants(out, "valid", Ping{Nonce: 7}.Encode(), 0)
	variants(out, "valid-max", Ping{Nonce: 1<<64 - 1}.Encode(), 0)
	return out
}

func addrCorpus() map[string][]byte {
	out := map[string][]byte{"empty": {}}
	variants(out, "valid", Addr{Peers: []PeerAddr{{ID: ID{1}, Addr: "10.0.0.1:7600", LastSeen: 1700000000}, {Addr: "[::1]:9", LastSeen: 0}}}.Encode(), 2)
	variants(out, "valid-none", Addr{}.Encode(), 2)
	// No seed at the full 1000 entries: a 41 KB input slows the fuzzer of this target about 17
	// times (every mutation decodes it all); the unit tests cover that limit.
	out["count-over-max"] = binary.BigEndian.AppendUint16(nil, MaxAddrPeers+1)
	return out
}

func invCorpus() map[string][]byte {
	out := map[string][]byte{"empty": {}}
	variants(out, "valid", Inv{Items: []InvItem{{InvBlock, [32]byte{1}}, {InvTx, [32]byte{2}}}}.Encode(), 4)
	variants(out, "valid-none", Inv{}.Encode(), 4)
	bad := Inv{Items: []InvItem{{InvBlock, [32]byte{1}}}}.Encode()
	bad[4] = 0xee // an unknown item type
	out["bad-item-type"] = bad
	return out
}

func getBlocksCorpus() map[string][]byte {
	out := map[string][]byte{"empty": {}}
	variants(out, "valid", GetBlocks{Locator: [][32]byte{{1}, {2}}, Stop: [32]byte{3}}.Encode(), 2)
	variants(out, "valid-empty-locator", GetBlocks{}.Encode(), 2)
	loc := make([][32]byte, MaxLocator)
	for i := range loc {
		loc[i] = [32]byte{byte(i)}
	}
	variants(out, "valid-max-locator", GetBlocks{Locator: loc}.Encode(), 2)
	return out
}

func cmpctCorpus() map[string][]byte {
	out := map[string][]byte{"empty": {}}
	variants(out, "valid", CmpctBlock{Nonce: 3, ShortIDs: []uint64{1, MaxShortID}, Prefilled: []PrefilledTx{{Index: 1, Raw: []byte{1, 2}}}}.Encode(), 4)
	variants(out, "valid-empty-block", CmpctBlock{}.Encode(), 2)
	over := append(make([]byte, CmpctHeaderSize+8), 0xff, 0xff, 0xff, 0xff)
	out["count-over-limit"] = over
	return out
}

func getBlockTxnCorpus() map[string][]byte {
	out := map[string][]byte{"empty": {}}
	variants(out, "valid", GetBlockTxn{Hash: [32]byte{1}, Indexes: []uint32{0, 3, MaxCmpctTxs - 1}}.Encode(), 2)
	return out
}

func blockTxnCorpus() map[string][]byte {
	out := map[string][]byte{"empty": {}}
	variants(out, "valid", BlockTxn{Hash: [32]byte{1}, Txs: [][]byte{{1}, {2, 3}}}.Encode(), 2)
	out["sendcmpct-1"] = SendCmpct{HighBandwidth: true}.Encode()
	return out
}

func disconnectCorpus() map[string][]byte {
	out := map[string][]byte{"empty": {}}
	variants(out, "valid", Disconnect{Reason: "invalid block"}.Encode(), 2)
	variants(out, "valid-empty-reason", Disconnect{}.Encode(), 2)
	out["utf8-reason"] = Disconnect{Reason: "bloc invalide é"}.Encode()
	return out
}

// messageCorpus has a valid payload of every message type, each with a wrong type, an empty
// payload and an unknown type.
func messageCorpus() map[string][]any {
	msgs := []Message{
		Ping{Nonce: 1}, Pong{Nonce: 2}, GetAddr{}, Addr{Peers: []PeerAddr{{Addr: "a:1"}}},
		Inv{Items: []InvItem{{InvTx, [32]byte{9}}}}, GetData{Items: []InvItem{{InvBlock, [32]byte{8}}}},
		NotFound{Items: []InvItem{{InvTx, [32]byte{7}}}}, Block{Raw: []byte{1, 2, 3}}, Tx{Raw: []byte{4, 5}},
		GetBlocks{Locator: [][32]byte{{1}}}, GetMempool{}, Disconnect{Reason: "bye"},
		SendCmpct{HighBandwidth: true}, CmpctBlock{ShortIDs: []uint64{1}}, GetBlockTxn{Indexes: []uint32{0}},
		BlockTxn{Txs: [][]byte{{1}}},
	}
	out := map[string][]any{
		"unknown-type-0":   {uint8(0), []byte{}},
		"unknown-type-17":  {uint8(17), []byte{}},
		"unknown-type-200": {uint8(200), []byte{1}},
		"unknown-type-255": {uint8(255), []byte{}},
	}
	for _, m := range msgs {
		name := strings.ToLower(MsgName(m.Type()))
		out["valid-"+name] = []any{m.Type(), m.Encode()}
		out["empty-"+name] = []any{m.Type(), []byte{}}
		out["wrong-type-"+name] = []any{m.Type()%12 + 1, m.Encode()}
	}
	return out
}

// frameCorpus: inputs of FuzzReadFrame, a sequence of chunks, each u16be header ‖ bytes (top bit
// set: raw bytes on the wire; clear: one encrypted frame).
func frameCorpus() map[string][]byte {
	chunks := func(cs ...[]byte) []byte {
		var b []byte
		for _, c := range cs {
			b = binary.BigEndian.AppendUint16(b, uint16(len(c)))
			b = append(b, c...)
		}
		return b
	}
	return map[string][]byte{
		"empty":               {},
		"one-message":         chunks(firstPlain(3, MsgTx, []byte("abc"))),
		"three-frames":        chunks(firstPlain(6, 1, []byte("ab")), []byte("cd"), []byte("ef")),
		"two-messages":        chunks(firstPlain(1, 3, []byte("z")), firstPlain(0, 4, nil)),
		"over-limit":          chunks(firstPlain(400, 2, nil)),
		"at-limit":            chunks(firstPlain(300, 2, bytes.Repeat([]byte{1}, 300))),
		"continuation-long":   chunks(firstPlain(5, 1, []byte("a")), []byte("bcdefg")),
		"continuation-empty":  chunks(firstPlain(2, 1, []byte("a")), []byte{}),
		"short-frame":         chunks([]byte{1, 2}),
		"first-frame-too-big": chunks(firstPlain(1, 1, []byte("ab"))),
		"missing-rest":        chunks(firstPlain(10, 1, []byte("abc"))),
		"raw-garbage":         append(chunks(firstPlain(1, 3, []byte("z"))), 0x80, 3, 0, 2, 9),
		"raw-only":            {0x80, 4, 1, 2, 3, 4},
	}
}
