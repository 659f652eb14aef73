package compact

import (
	"testing"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/internal/testutil"
)

// TestFuzzCorpus checks the committed seed corpus of FuzzPartial (testdata/fuzz/FuzzPartial);
// FUZZ_CORPUS=write rewrites it:
//
//	FUZZ_CORPUS=write go test -run TestFuzzCorpus ./compact/
func TestFuzzCorpus(t *testing.T) {
	b := testBlock(4, 9)
	hs := Hashes(b)
	warm := Build(b, hs, 3, func(h chainstate.Hash) bool { return h != hs[2] })
	txn, err := Txn(b, []uint32{0, 1, 3})
	if err != nil {
		t.Fatal(err)
	}
	cold := Build(b, hs, 3, func(chainstate.Hash) bool { return false })
	dup := Build(b, hs, 4, func(chainstate.Hash) bool { return true })
	dup.ShortIDs[1] = dup.ShortIDs[0]
	testutil.CheckCorpus(t, map[string]map[string][]any{
		"FuzzPartial": {
			"warm-with-blocktxn": {warm.Encode(), txn.Encode()},
			"cold":               {cold.Encode(), []byte{}},
			"short-id-collision": {dup.Encode(), []byte{}},
			"blocktxn-short":     {warm.Encode(), txn.Encode()[:40]},
			"empty":              {[]byte{}, []byte{}},
		},
	})
}
