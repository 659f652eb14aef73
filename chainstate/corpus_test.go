package chainstate

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/actorchain/actorchain/internal/testutil"
)

// The committed seed corpus of this package's fuzz targets lives in testdata/fuzz/<FuzzName>/, in
// the go test corpus file format: plain `go test` runs every file through its target, `go test
// -fuzz` starts from them. TestFuzzCorpus generates the files (valid encodings, edge cases and
// malformed inputs) and fails when one is missing or differs; FUZZ_CORPUS=write rewrites them:
//
//	FUZZ_CORPUS=write go test -run TestFuzzCorpus ./chainstate/
//
// Crashers the fuzzer finds are committed next to them under their own names (and get a
// regression test); the check ignores files it does not generate.
func TestFuzzCorpus(t *testing.T) {
	testutil.CheckCorpus(t, map[string]map[string][]any{
		"FuzzDecodeTx":     testutil.BytesCorpus(txCorpus()),
		"FuzzDecodeHeader": testutil.BytesCorpus(headerCorpus()),
		"FuzzDecodeBlock":  testutil.BytesCorpus(blockCorpus()),
	})
}

// malformed adds the usual damaged forms of a valid encoding v under prefix: cut by one byte, cut
// in half, one trailing byte, and every byte flipped at a few offsets.
func malformed(out map[string][]byte, prefix string, v []byte) {
	out[prefix+"-cut-last"] = v[:len(v)-1]
	out[prefix+"-cut-half"] = v[:len(v)/2]
	out[prefix+"-trailing"] = append(bytes.Clone(v), 0)
	for _, off := range []int{0, len(v) / 3, len(v) - 1} {
		f := bytes.Clone(v)
		f[off] ^= 0xff
		out[fmt.Sprintf("%s-flip-%d", prefix, off)] = f
	}
}

func txCorpus() map[string][]byte {
	p := testParams(nil)
	out := map[string][]byte{"empty": {}}
	for i, s := range seedTxs() {
		out[fmt.Sprintf("valid-%d", i)] = s
	}
	short := &Tx{ChainID: "c", Amount: 0, Fee: 0, Nonce: 0}
	short.Sign(testKey(3))
	out["valid-chain-id-1"] = short.Encode()
	maxed := &Tx{ChainID: p.ChainID, Amount: 1<<64 - 1, Fee: 1<<64 - 1, Nonce: 1<<64 - 1}
	maxed.Sign(testKey(4))
	out["valid-max-values"] = maxed.Encode()
	v := signedTx(p, testKey(1), Address{1}, 5, 1, 0).Encode()
	malformed(out, "tx", v)
	magic := len("actorchain-tx/1")
	for _, n := range []byte{0, MaxChainIDLen + 1, 255} {
		f := bytes.Clone(v)
		f[magic] = n // the chain id's length byte
		out[fmt.Sprintf("chain-id-len-%d", n)] = f
	}
	out["magic-only"] = v[:magic]
	return out
}

func headerCorpus() map[string][]byte {
	v := vectorHeader().Encode()
	out := map[string][]byte{
		"valid-vector":  v,
		"valid-genesis": testParams(nil).Genesis().Header.Encode(),
		"zeros":         make([]byte, len(v)),
		"ones":          bytes.Repeat([]byte{0xff}, len(v)),
		"empty":         {},
	}
	malformed(out, "header", v)
	return out
}

func blockCorpus() map[string][]byte {
	out := map[string][]byte{}
	for i, s := range seedBlocks() {
		out[fmt.Sprintf("valid-%d", i)] = s
	}
	hdr := vectorHeader().Encode()
	tx := signedTx(testParams(nil), testKey(1), Address{1}, 5, 1, 0).Encode()
	// block builds a block encoding by hand: header ‖ u32 count ‖ entries, each u16 length ‖ bytes.
	block := func(count uint32, entries ...[]byte) []byte {
		b := binary.BigEndian.AppendUint32(bytes.Clone(hdr), count)
		for _, e := range entries {
			b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
			b = append(b, e...)
		}
		return b
	}
	out["valid-no-txs"] = block(0)
	out["valid-one-tx"] = block(1, tx)
	out["header-only"] = hdr
	out["count-over-max"] = block(MaxBlockTxsDecode + 1)
	out["count-max-u32"] = block(1<<32 - 1)
	out["count-beyond-data"] = block(3, tx)
	out["tx-empty-entry"] = block(1, []byte{})
	out["tx-garbage-entry"] = block(1, bytes.Repeat([]byte{0xab}, 40))
	out["tx-len-beyond-data"] = append(block(0)[:len(hdr)], 0, 0, 0, 1, 0xff, 0xff, 1, 2, 3)
	out["tx-duplicated"] = block(2, tx, tx)
	malformed(out, "block", block(1, tx))
	return out
}
