package chainstate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func rep(b string, n int) string { return strings.Repeat(b, n) }

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func vectorTx() *Tx {
	tx := &Tx{ChainID: "ac", Amount: 0x0102030405060708, Fee: 9, Nonce: 10}
	for i := range tx.From {
		tx.From[i] = 0x11
	}
	for i := range tx.To {
		tx.To[i] = 0x22
	}
	for i := range tx.Sig {
		tx.Sig[i] = 0x33
	}
	return tx
}

func TestTxEncodingVector(t *testing.T) {
	tx := vectorTx()
	signing := unhex(t, "6163746f72636861696e2d74782f31"+ // "actorchain-tx/1"
		"02"+"6163"+ // chain id length and "ac"
		rep("11", 32)+rep("22", 20)+
		"0102030405060708"+"0000000000000009"+"000000000000000a")
	enc := append(append([]byte(nil), signing...), unhex(t, rep("33", 64))...)
	if got := tx.SigningBytes(); !bytes.Equal(got, signing) {
		t.Fatalf("SigningBytes\n got %x\nwant %x", got, signing)
	}
	if got := tx.Encode(); !bytes.Equal(got, enc) {
		t.Fatalf("Encode\n got %x\nwant %x", got, enc)
	}
	if len(enc) != 158 || TxFixedSize != 156 {
		t.Fatalf("encoding is %d bytes, TxFixedSize %d", len(enc), TxFixedSize)
	}
	if got, want := tx.Hash(), Hash(sha256.Sum256(enc)); got != want {
		t.Fatalf("Hash %s, want %s", got, want)
	}
	if got := tx.AppendEncode([]byte{0xff}); !bytes.Equal(got[1:], enc) || got[0] != 0xff {
		t.Fatal("AppendEncode does not append")
	}
	dec, err := DecodeTx(enc)
	if err != nil || *dec != *tx {
		t.Fatalf("DecodeTx = %+v, %v", dec, err)
	}
}

func TestTxSignAndAddress(t *testing.T) {
	// RFC 8032 test 1 key; the address is the first 20 bytes of SHA-256(public key), computed
	// independently.
	seed := unhex(t, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	var priv = ed25519NewKeyFromSeed(seed)
	tx := &Tx{ChainID: "c", Amount: 1}
	tx.Sign(priv)
	if got := tx.From.String(); got != "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a" {
		t.Fatalf("From %s", got)
	}
	if got := tx.Sender().String(); got != "21fe31dfa154a261626bf854046fd2271b7bed4b" {
		t.Fatalf("Sender %s", got)
	}
	if !tx.VerifySig() {
		t.Fatal("signature does not verify")
	}
	tx.Nonce++
	if tx.VerifySig() {
		t.Fatal("signature verifies after changing the nonce")
	}
}

func vectorHeader() *Header {
	h := &Header{Version: 1, Height: 0x0a0b0c0d0e0f1011, Bits: 0x12131415, Time: 0x0102030405060708, Nonce: 0xa1a2a3a4}
	for i := range h.PrevHash {
		h.PrevHash[i] = 0x44
	}
	for i := range h.TxRoot {
		h.TxRoot[i] = 0x55
	}
	for i := range h.StateRoot {
		h.StateRoot[i] = 0x66
	}
	for i := range h.Miner {
		h.Miner[i] = 0x77
	}
	for i := range h.MinerSig {
		h.MinerSig[i] = 0x88
	}
	return h
}

func TestHeaderVectors(t *testing.T) {
	h := vectorHeader()
	fields := "0a0b0c0d0e0f1011" + "12131415" + rep("55", 32) + rep("66", 32) + rep("77", 32)
	seal := unhex(t, hex.EncodeToString([]byte("actorchain-seal/1"))+fields)
	if got := h.SealBytes(); !bytes.Equal(got, seal) {
		t.Fatalf("SealBytes\n got %x\nwant %x", got, seal)
	}
	commit := Hash(sha256.Sum256(unhex(t, hex.EncodeToString([]byte("actorchain-commit/1"))+fields+rep("88", 64))))
	if got := h.Commitment(); got != commit {
		t.Fatalf("Commitment %s, want %s", got, commit)
	}
	w := h.WorkHeader()
	wantWork := unhex(t, "00000001"+rep("44", 32)+commit.String()+"0102030405060708"+"a1a2a3a4")
	if !bytes.Equal(w[:], wantWork) {
		t.Fatalf("WorkHeader\n got %x\nwant %x", w, wantWork)
	}
	// The documented offsets.
	if !bytes.Equal(w[WorkTimeOffset:WorkTimeOffset+8], unhex(t, "0102030405060708")) ||
		!bytes.Equal(w[WorkNonceOffset:], unhex(t, "a1a2a3a4")) ||
		!bytes.Equal(w[WorkCommitmentOffset:WorkCommitmentOffset+32], commit[:]) ||
		!bytes.Equal(w[WorkPrevHashOffset:WorkPrevHashOffset+32], h.PrevHash[:]) {
		t.Fatal("work header offsets are wrong")
	}
	first := sha256.Sum256(wantWork)
	if got, want := h.Hash(), Hash(sha256.Sum256(first[:])); got != want {
		t.Fatalf("Hash %s, want %s", got, want)
	}
	enc := unhex(t, "00000001"+rep("44", 32)+"0a0b0c0d0e0f1011"+"12131415"+rep("55", 32)+rep("66", 32)+
		rep("77", 32)+rep("88", 64)+"0102030405060708"+"a1a2a3a4")
	if got := h.Encode(); !bytes.Equal(got, enc) || len(enc) != HeaderSize {
		t.Fatalf("Encode\n got %x\nwant %x (HeaderSize %d)", got, enc, HeaderSize)
	}
	dec, err := DecodeHeader(enc)
	if err != nil || *dec != *h {
		t.Fatalf("DecodeHeader = %+v, %v", dec, err)
	}
}

func TestHashWorkVector(t *testing.T) {
	var w [WorkHeaderSize]byte // SHA-256d of 80 zero bytes, computed independently
	if got := HashWork(&w).String(); got != "4be7570e8f70eb093640c8468274ba759745a7aa2b7d25ab1e0421b259845014" {
		t.Fatalf("HashWork(zero) = %s", got)
	}
}

func TestMeetsBits(t *testing.T) {
	hashWith := func(prefix ...byte) Hash {
		var h Hash
		for i := range h {
			h[i] = 0xff
		}
		copy(h[:], prefix)
		return h
	}
	var zero Hash
	tests := []struct {
		name string
		h    Hash
		bits uint32
		want bool
	}{
		{"any hash meets 0", hashWith(0xff), 0, true},
		{"0xff fails 1", hashWith(0xff), 1, false},
		{"0x7f meets 1", hashWith(0x7f), 1, true},
		{"0x7f fails 2", hashWith(0x7f), 2, false},
		{"0x0f meets 4", hashWith(0x0f), 4, true},
		{"0x0f fails 5", hashWith(0x0f), 5, false},
		{"00 80 meets 8", hashWith(0x00, 0x80), 8, true},
		{"00 80 fails 9", hashWith(0x00, 0x80), 9, false},
		{"00 01 meets 15", hashWith(0x00, 0x01), 15, true},
		{"00 01 fails 16", hashWith(0x00, 0x01), 16, false},
		{"00 00 meets 16", hashWith(0x00, 0x00), 16, true},
		{"zero meets 256", zero, 256, true},
		{"nothing meets 257", zero, 257, false},
		{"last bit set fails 256", func() Hash { h := zero; h[31] = 1; return h }(), 256, false},
		{"last bit set meets 255", func() Hash { h := zero; h[31] = 1; return h }(), 255, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MeetsBits(tt.h, tt.bits); got != tt.want {
				t.Fatalf("MeetsBits(%s, %d) = %v", tt.h, tt.bits, got)
			}
		})
	}
}

func TestWorkForBits(t *testing.T) {
	for _, tt := range []struct {
		bits uint32
		want string
	}{{0, "1"}, {1, "2"}, {20, "1048576"}, {64, "18446744073709551616"}} {
		want, _ := new(big.Int).SetString(tt.want, 10)
		if got := WorkForBits(tt.bits); got.Cmp(want) != 0 {
			t.Errorf("WorkForBits(%d) = %s, want %s", tt.bits, got, want)
		}
	}
}

func TestTxRootVectors(t *testing.T) {
	txs := make([]*Tx, 5)
	for i := range txs {
		txs[i] = vectorTx()
		txs[i].Nonce = uint64(i)
	}
	h := func(b ...[]byte) Hash { return sha256.Sum256(bytes.Join(b, nil)) }
	leaf := func(i int) Hash { th := txs[i].Hash(); return h([]byte{0}, th[:]) }
	node := func(l, r Hash) Hash { return h([]byte{1}, l[:], r[:]) }

	if got := TxRoot(nil).String(); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("empty root %s", got)
	}
	if got := TxRoot(txs[:1]); got != leaf(0) {
		t.Fatalf("one leaf: %s", got)
	}
	if got := TxRoot(txs[:2]); got != node(leaf(0), leaf(1)) {
		t.Fatalf("two leaves: %s", got)
	}
	if got := TxRoot(txs[:3]); got != node(node(leaf(0), leaf(1)), leaf(2)) {
		t.Fatalf("three leaves (odd promoted): %s", got)
	}
	if got := TxRoot(txs[:5]); got != node(node(node(leaf(0), leaf(1)), node(leaf(2), leaf(3))), leaf(4)) {
		t.Fatalf("five leaves: %s", got)
	}
	// Unlike Bitcoin's duplicate-last rule, [a b c] and [a b c c] differ.
	if TxRoot([]*Tx{txs[0], txs[1], txs[2]}) == TxRoot([]*Tx{txs[0], txs[1], txs[2], txs[2]}) {
		t.Fatal("duplicated last tx gives the same root")
	}
}

func TestBlockEncodingLayout(t *testing.T) {
	tx := vectorTx()
	b := &Block{Header: *vectorHeader(), Txs: []*Tx{tx, tx}}
	enc := b.Encode()
	want := append(vectorHeader().Encode(), unhex(t, "00000002")...)
	for range 2 {
		want = append(want, 0x00, 158)
		want = append(want, tx.Encode()...)
	}
	if !bytes.Equal(enc, want) {
		t.Fatalf("block encoding\n got %x\nwant %x", enc, want)
	}
	dec, err := DecodeBlock(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dec.Encode(), enc) || dec.Hash() != b.Hash() {
		t.Fatal("round trip differs")
	}
	empty := &Block{Header: *vectorHeader()}
	dec, err = DecodeBlock(empty.Encode())
	if err != nil || len(dec.Txs) != 0 {
		t.Fatalf("empty block: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	txEnc := vectorTx().Encode()
	with := func(b []byte, f func([]byte) []byte) []byte { return f(append([]byte(nil), b...)) }
	blk := (&Block{Header: *vectorHeader(), Txs: []*Tx{vectorTx()}}).Encode()
	hdrLen := HeaderSize
	tests := []struct {
		name   string
		decode func([]byte) error
		in     []byte
		want   string
	}{
		{"tx empty", decTx, nil, "at least"},
		{"tx short", decTx, txEnc[:100], "at least"},
		{"tx bad tag", decTx, with(txEnc, func(b []byte) []byte { b[0] = 'A'; return b }), "bad tag"},
		{"tx chain id length 0", decTx, with(txEnc, func(b []byte) []byte { b[15] = 0; return b }), "out of range"},
		{"tx chain id length 65", decTx, with(txEnc, func(b []byte) []byte { b[15] = 65; return b }), "out of range"},
		{"tx length mismatch", decTx, with(txEnc, func(b []byte) []byte { b[15] = 3; return b }), "needs exactly"},
		{"tx trailing byte", decTx, append(append([]byte(nil), txEnc...), 0), "needs exactly"},
		{"header short", decHeader, vectorHeader().Encode()[:219], "exactly 220"},
		{"header long", decHeader, append(vectorHeader().Encode(), 0), "exactly 220"},
		{"block short", decBlock, blk[:hdrLen+3], "at least"},
		{"block count over limit", decBlock, with(blk, func(b []byte) []byte { be.PutUint32(b[hdrLen:], MaxBlockTxsDecode+1); return b }), "exceeds"},
		{"block count over bytes", decBlock, with(blk, func(b []byte) []byte { be.PutUint32(b[hdrLen:], 2); return b }), "needs at least"},
		{"block tx length over bytes", decBlock, with(blk, func(b []byte) []byte { be.PutUint16(b[hdrLen+4:], 500); return b }), "truncated tx"},
		{"block tx length short", decBlock, with(blk, func(b []byte) []byte { be.PutUint16(b[hdrLen+4:], 157); return b }), "tx 0"},
		{"block trailing", decBlock, append(append([]byte(nil), blk...), 1, 2), "trailing"},
		{"block bad tx", decBlock, with(blk, func(b []byte) []byte { b[hdrLen+6] = 'X'; return b }), "tx 0: bad tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode(tt.in)
			if err == nil {
				t.Fatal("decoded")
			}
			var re *RuleError
			if !errors.As(err, &re) || re.Code != CodeMalformed {
				t.Fatalf("error %v is not a malformed RuleError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func decTx(b []byte) error     { _, err := DecodeTx(b); return err }
func decHeader(b []byte) error { _, err := DecodeHeader(b); return err }
func decBlock(b []byte) error  { _, err := DecodeBlock(b); return err }

func TestParseHex(t *testing.T) {
	tests := []struct {
		name string
		f    func(string) error
		in   string
		want string // "" = ok
	}{
		{"hash ok upper", func(s string) error { _, err := ParseHash(s); return err }, strings.ToUpper(rep("ab", 32)), ""},
		{"hash short", func(s string) error { _, err := ParseHash(s); return err }, "abc", "hash: want 64 hex characters, got 3"},
		{"hash bad char", func(s string) error { _, err := ParseHash(s); return err }, rep("zz", 32), "hash: encoding/hex"},
		{"address ok", func(s string) error { _, err := ParseAddress(s); return err }, rep("01", 20), ""},
		{"address long", func(s string) error { _, err := ParseAddress(s); return err }, rep("01", 21), "address: want 40 hex characters, got 42"},
		{"pubkey ok", func(s string) error { _, err := ParsePublicKey(s); return err }, rep("fe", 32), ""},
		{"pubkey short", func(s string) error { _, err := ParsePublicKey(s); return err }, "", "public key: want 64 hex characters, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
	h, _ := ParseHash(strings.ToUpper(rep("ab", 32)))
	if h.String() != rep("ab", 32) {
		t.Fatalf("String %s is not lower-case", h)
	}
	var back Hash
	txt, _ := h.MarshalText()
	if err := back.UnmarshalText(txt); err != nil || back != h {
		t.Fatal("text round trip")
	}
	if (Hash{}).IsZero() != true || h.IsZero() {
		t.Fatal("IsZero")
	}
}

// genTx draws an arbitrary (unsigned) transaction with a valid chain id length.
func genTx(t *rapid.T, label string) *Tx {
	tx := &Tx{
		ChainID: string(rapid.SliceOfN(rapid.Byte(), 1, MaxChainIDLen).Draw(t, label+".chain")),
		Amount:  rapid.Uint64().Draw(t, label+".amount"),
		Fee:     rapid.Uint64().Draw(t, label+".fee"),
		Nonce:   rapid.Uint64().Draw(t, label+".nonce"),
	}
	seed := rapid.Uint64().Draw(t, label+".seed")
	copy(tx.From[:], fill(seed, 32))
	copy(tx.To[:], fill(seed+1, 20))
	copy(tx.Sig[:], fill(seed+2, 64))
	return tx
}

func genHeader(t *rapid.T) *Header {
	h := &Header{
		Version: rapid.Uint32().Draw(t, "version"),
		Height:  rapid.Uint64().Draw(t, "height"),
		Bits:    rapid.Uint32().Draw(t, "bits"),
		Time:    rapid.Uint64().Draw(t, "time"),
		Nonce:   rapid.Uint32().Draw(t, "nonce"),
	}
	seed := rapid.Uint64().Draw(t, "seed")
	copy(h.PrevHash[:], fill(seed, 32))
	copy(h.TxRoot[:], fill(seed+1, 32))
	copy(h.StateRoot[:], fill(seed+2, 32))
	copy(h.Miner[:], fill(seed+3, 32))
	copy(h.MinerSig[:], fill(seed+4, 64))
	return h
}

func TestRapidTxRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tx := genTx(t, "tx")
		enc := tx.Encode()
		dec, err := DecodeTx(enc)
		if err != nil {
			t.Fatal(err)
		}
		if *dec != *tx || !bytes.Equal(dec.Encode(), enc) || dec.Hash() != tx.Hash() {
			t.Fatalf("round trip: %+v vs %+v", dec, tx)
		}
	})
}

func TestRapidHeaderRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := genHeader(t)
		dec, err := DecodeHeader(h.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if *dec != *h || dec.Hash() != h.Hash() {
			t.Fatalf("round trip: %+v vs %+v", dec, h)
		}
	})
}

func TestRapidBlockRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := &Block{Header: *genHeader(t)}
		n := rapid.IntRange(0, 20).Draw(t, "n")
		for i := range n {
			b.Txs = append(b.Txs, genTx(t, "tx"+string(rune('a'+i))))
		}
		enc := b.Encode()
		dec, err := DecodeBlock(enc)
		if err != nil {
			t.Fatal(err)
		}
		if dec.Header != b.Header || len(dec.Txs) != len(b.Txs) || !bytes.Equal(dec.Encode(), enc) {
			t.Fatal("round trip differs")
		}
		for i := range b.Txs {
			if *dec.Txs[i] != *b.Txs[i] {
				t.Fatalf("tx %d differs", i)
			}
		}
		if TxRoot(dec.Txs) != TxRoot(b.Txs) {
			t.Fatal("tx root differs")
		}
	})
}

// TestRapidDecodeNeverPanics feeds random bytes, and valid encodings with random bytes
// overwritten, truncated or extended, to every decoder. They must not panic, and whatever
// decodes must re-encode to the same bytes (the encodings are canonical).
func TestRapidDecodeNeverPanics(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var in []byte
		switch rapid.IntRange(0, 3).Draw(t, "kind") {
		case 0:
			in = rapid.SliceOfN(rapid.Byte(), 0, 600).Draw(t, "random")
		case 1:
			in = genTx(t, "tx").Encode()
		case 2:
			in = genHeader(t).Encode()
		case 3:
			b := &Block{Header: *genHeader(t)}
			for i := range rapid.IntRange(0, 3).Draw(t, "n") {
				b.Txs = append(b.Txs, genTx(t, "tx"+string(rune('a'+i))))
			}
			in = b.Encode()
		}
		for range rapid.IntRange(0, 4).Draw(t, "mutations") {
			if len(in) == 0 {
				break
			}
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0:
				in[rapid.IntRange(0, len(in)-1).Draw(t, "pos")] = rapid.Byte().Draw(t, "byte")
			case 1:
				in = in[:rapid.IntRange(0, len(in)-1).Draw(t, "cut")]
			case 2:
				in = append(in, rapid.SliceOfN(rapid.Byte(), 1, 8).Draw(t, "extra")...)
			}
		}
		if tx, err := DecodeTx(in); err == nil && !bytes.Equal(tx.Encode(), in) {
			t.Fatal("tx decode/encode not canonical")
		}
		if h, err := DecodeHeader(in); err == nil && !bytes.Equal(h.Encode(), in) {
			t.Fatal("header decode/encode not canonical")
		}
		if b, err := DecodeBlock(in); err == nil && !bytes.Equal(b.Encode(), in) {
			t.Fatal("block decode/encode not canonical")
		}
	})
}
