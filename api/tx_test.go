package api

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/chainstate"
)

// genTx draws a transaction with random fields in the ranges ToChain accepts.
func genTx(t *rapid.T) *chainstate.Tx {
	tx := &chainstate.Tx{
		ChainID: rapid.StringOfN(rapid.Rune(), 1, chainstate.MaxChainIDLen/4, chainstate.MaxChainIDLen).Draw(t, "chain_id"),
		Amount:  rapid.Uint64Min(1).Draw(t, "amount"),
		Fee:     rapid.Uint64().Draw(t, "fee"),
		Nonce:   rapid.Uint64().Draw(t, "nonce"),
	}
	copy(tx.From[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "from"))
	copy(tx.To[:], rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(t, "to"))
	copy(tx.Sig[:], rapid.SliceOfN(rapid.Byte(), 64, 64).Draw(t, "sig"))
	return tx
}

// docHash is the transaction hash as docs/api.md defines it, from the standard library only.
func docHash(tx *chainstate.Tx) string {
	b := []byte("actorchain-tx/1")
	b = append(b, byte(len(tx.ChainID)))
	b = append(b, tx.ChainID...)
	b = append(b, tx.From[:]...)
	b = append(b, tx.To[:]...)
	b = binary.BigEndian.AppendUint64(b, tx.Amount)
	b = binary.BigEndian.AppendUint64(b, tx.Fee)
	b = binary.BigEndian.AppendUint64(b, tx.Nonce)
	sum := sha256.Sum256(append(b, tx.Sig[:]...))
	return hex.EncodeToString(sum[:])
}

// TestTxRoundTrip: TxFromChain(t).ToChain() == t, also through JSON and the strict request
// decoder, and the hash is the documented one (this last check needs chainstate's Tx.Hash).
func TestTxRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tx := genTx(t)
		j := TxFromChain(tx)
		back, err := j.ToChain()
		if err != nil {
			t.Fatalf("ToChain: %v", err)
		}
		if *back != *tx {
			t.Fatalf("round trip: got %+v, want %+v", back, tx)
		}
		if j.Hash != docHash(tx) {
			t.Fatalf("hash %s, documented definition gives %s", j.Hash, docHash(tx))
		}
		raw, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		var q txRequest
		if err := decodeStrict(raw, &q); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
		form, err := q.form()
		if err != nil {
			t.Fatal(err)
		}
		if form != j {
			t.Fatalf("JSON round trip: got %+v, want %+v", form, j)
		}
		// Upper-case hex is accepted too.
		j.From, j.To, j.Signature = strings.ToUpper(j.From), strings.ToUpper(j.To), strings.ToUpper(j.Signature)
		if back, err := j.ToChain(); err != nil || *back != *tx {
			t.Fatalf("upper-case hex: %v", err)
		}
	})
}

// TestToChainRejects: a damaged field is refused with an error naming it.
func TestToChainRejects(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		j := txFromChainNoHash(genTx(t))
		field := rapid.SampledFrom([]string{"chain_id", "from", "to", "amount", "signature"}).Draw(t, "field")
		switch field {
		case "chain_id":
			j.ChainID = rapid.SampledFrom([]string{"", strings.Repeat("x", chainstate.MaxChainIDLen+1)}).Draw(t, "bad")
		case "amount":
			j.Amount = 0
		default:
			p := map[string]*string{"from": &j.From, "to": &j.To, "signature": &j.Signature}[field]
			switch rapid.IntRange(0, 2).Draw(t, "damage") {
			case 0: // too short
				*p = (*p)[:rapid.IntRange(0, len(*p)-1).Draw(t, "len")]
			case 1: // too long
				*p += "00"
			case 2: // not hex
				i := rapid.IntRange(0, len(*p)-1).Draw(t, "at")
				*p = (*p)[:i] + "g" + (*p)[i+1:]
			}
		}
		_, err := j.ToChain()
		if err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Fatalf("damaged %s: err %v", field, err)
		}
	})
}
