package chainstate

import (
	"bytes"
	"testing"
)

func seedTxs() [][]byte {
	p := testParams(nil)
	long := &Tx{ChainID: string(bytes.Repeat([]byte{'c'}, MaxChainIDLen)), Amount: 1 << 63, Fee: 1, Nonce: 1 << 40}
	long.Sign(testKey(2))
	return [][]byte{vectorTx().Encode(), signedTx(p, testKey(1), Address{1}, 5, 1, 0).Encode(), long.Encode()}
}

func seedBlocks() [][]byte {
	p := testParams(nil)
	txs := []*Tx{signedTx(p, testKey(1), Address{1}, 5, 1, 0), vectorTx()}
	return [][]byte{
		p.Genesis().Encode(),
		(&Block{Header: *vectorHeader(), Txs: txs}).Encode(),
	}
}

func FuzzDecodeTx(f *testing.F) {
	for _, s := range seedTxs() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeTx(b)
		if err != nil {
			if _, ok := IsRuleError(err); !ok {
				t.Fatalf("decode error %v is not a RuleError", err)
			}
			return
		}
		if !bytes.Equal(tx.Encode(), b) {
			t.Fatalf("decode→encode differs:\n in  %x\n out %x", b, tx.Encode())
		}
	})
}

func FuzzDecodeHeader(f *testing.F) {
	f.Add(vectorHeader().Encode())
	f.Add(testParams(nil).Genesis().Header.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHeader(b)
		if err != nil {
			return
		}
		if !bytes.Equal(h.Encode(), b) {
			t.Fatalf("decode→encode differs:\n in  %x\n out %x", b, h.Encode())
		}
	})
}

func FuzzDecodeBlock(f *testing.F) {
	for _, s := range seedBlocks() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		blk, err := DecodeBlock(b)
		if err != nil {
			return
		}
		if !bytes.Equal(blk.Encode(), b) {
			t.Fatalf("decode→encode differs:\n in  %x\n out %x", b, blk.Encode())
		}
		_ = TxRoot(blk.Txs)
	})
}
