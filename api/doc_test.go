package api

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"regexp"
	"testing"

	"github.com/actorchain/actorchain/chainstate"
)

// workedExample computes the worked examples of docs/api.md from the documented definitions,
// with the standard library only. Keys are the labels of the doc's example tables.
func workedExample() map[string]string {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i + 1)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	toSeed := make([]byte, ed25519.SeedSize)
	for i := range toSeed {
		toSeed[i] = 2
	}
	toPub := ed25519.NewKeyFromSeed(toSeed).Public().(ed25519.PublicKey)
	address := func(k []byte) []byte { s := sha256.Sum256(k); return s[:20] }
	be64, be32 := binary.BigEndian.AppendUint64, binary.BigEndian.AppendUint32

	const chainID = "actorchain-devnet"
	msg := []byte("actorchain-tx/1")
	msg = append(msg, byte(len(chainID)))
	msg = append(msg, chainID...)
	msg = append(msg, pub...)
	msg = append(msg, address(toPub)...)
	msg = be64(msg, 7) // amount
	msg = be64(msg, 1) // fee
	msg = be64(msg, 0) // nonce
	sig := ed25519.Sign(priv, msg)
	txHash := sha256.Sum256(append(append([]byte{}, msg...), sig...))

	// The block header example: sealed by the same key.
	fill := func(b byte) []byte {
		s := make([]byte, 32)
		for i := range s {
			s[i] = b
		}
		return s
	}
	var fields []byte
	fields = be64(fields, 1)               // height
	fields = be32(fields, 8)               // bits
	fields = append(fields, fill(0x22)...) // tx root
	fields = append(fields, fill(0x33)...) // state root
	fields = append(fields, pub...)        // miner
	seal := append([]byte("actorchain-seal/1"), fields...)
	minerSig := ed25519.Sign(priv, seal)
	commitment := sha256.Sum256(append(append([]byte("actorchain-commit/1"), fields...), minerSig...))
	var work []byte
	work = be32(work, 1)                  // version
	work = append(work, fill(0x11)...)    // previous block hash
	work = append(work, commitment[:]...) // commitment
	work = be64(work, 1767225600000)      // time, ms
	work = be32(work, 7)                  // nonce
	first := sha256.Sum256(work)
	blockHash := sha256.Sum256(first[:])

	h := hex.EncodeToString
	return map[string]string{
		"seed":            h(seed),
		"public key":      h(pub),
		"address":         h(address(pub)),
		"to seed":         h(toSeed),
		"to public key":   h(toPub),
		"to address":      h(address(toPub)),
		"signing bytes":   h(msg),
		"signature":       h(sig),
		"tx hash":         h(txHash[:]),
		"seal bytes":      h(seal),
		"miner signature": h(minerSig),
		"commitment":      h(commitment[:]),
		"work header":     h(work),
		"block hash":      h(blockHash[:]),
	}
}

// TestDocWorkedExample keeps docs/api.md from drifting: every value of its worked examples is
// recomputed from the documented definitions, and the example request body is the Tx JSON.
func TestDocWorkedExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	ex := workedExample()
	for label, want := range ex {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + ` {2,}([0-9a-f]+)$`)
		m := re.FindAllSubmatch(doc, -1)
		if len(m) != 1 {
			t.Errorf("docs/api.md: want exactly one line %q followed by hex, found %d", label, len(m))
			continue
		}
		if got := string(m[0][1]); got != want {
			t.Errorf("docs/api.md: %s is\n%s\nthe definitions give\n%s", label, got, want)
		}
	}
	body, err := json.Marshal(Tx{ChainID: "actorchain-devnet", From: ex["public key"], To: ex["to address"],
		Amount: 7, Fee: 1, Nonce: 0, Signature: ex["signature"]})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(string(body)) + `$`).Match(doc) {
		t.Errorf("docs/api.md lacks the example body on a line of its own:\n%s", body)
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(`{"hash":"`+ex["tx hash"]+`"}`) + `$`).Match(doc) {
		t.Errorf("docs/api.md lacks the example answer {\"hash\":%q}", ex["tx hash"])
	}
}

// TestDocMatchesChainstate checks that the documented encodings are the ones the node uses:
// chainstate's transaction and header code must give the worked examples' values. (This test
// needs chainstate's implementation.)
func TestDocMatchesChainstate(t *testing.T) {
	ex := workedExample()
	seed, _ := hex.DecodeString(ex["seed"])
	priv := ed25519.NewKeyFromSeed(seed)
	to, err := chainstate.ParseAddress(ex["to address"])
	if err != nil {
		t.Fatal(err)
	}
	tx := &chainstate.Tx{ChainID: "actorchain-devnet", To: to, Amount: 7, Fee: 1, Nonce: 0}
	tx.Sign(priv)
	for label, got := range map[string]string{
		"public key":    tx.From.String(),
		"address":       tx.Sender().String(),
		"signing bytes": hex.EncodeToString(tx.SigningBytes()),
		"signature":     tx.Sig.String(),
		"tx hash":       tx.Hash().String(),
	} {
		if got != ex[label] {
			t.Errorf("chainstate %s = %s, documented %s", label, got, ex[label])
		}
	}
	if j := TxFromChain(tx); j.Hash != ex["tx hash"] || j.From != ex["public key"] || j.Signature != ex["signature"] {
		t.Errorf("TxFromChain = %+v", j)
	}

	fill := func(b byte) (h chainstate.Hash) {
		for i := range h {
			h[i] = b
		}
		return h
	}
	hdr := &chainstate.Header{Version: 1, PrevHash: fill(0x11), Height: 1, Bits: 8, TxRoot: fill(0x22),
		StateRoot: fill(0x33), Time: 1767225600000, Nonce: 7}
	hdr.Seal(priv)
	work := hdr.WorkHeader()
	for label, got := range map[string]string{
		"seal bytes":      hex.EncodeToString(hdr.SealBytes()),
		"miner signature": hdr.MinerSig.String(),
		"commitment":      hdr.Commitment().String(),
		"work header":     hex.EncodeToString(work[:]),
		"block hash":      hdr.Hash().String(),
	} {
		if got != ex[label] {
			t.Errorf("chainstate %s = %s, documented %s", label, got, ex[label])
		}
	}
}
