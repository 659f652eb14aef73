package perf

import (
	"strings"
	"testing"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/config"
)

func TestSampleValue(t *testing.T) {
	text := "# HELP x\nactorchain_a 3\nactorchain_storage_commit_seconds_sum{op=\"mempool\"} 1.5\nactorchain_storage_commit_seconds_sum{op=\"connect\"} 7\n"
	if v, err := sampleValue(text, `actorchain_storage_commit_seconds_sum{op="mempool"}`); err != nil || v != 1.5 {
		t.Errorf("mempool sum: %v, %v", v, err)
	}
	if v, err := sampleValue(text, "actorchain_a"); err != nil || v != 3 {
		t.Errorf("actorchain_a: %v, %v", v, err)
	}
	if _, err := sampleValue(text, "actorchain"); err == nil {
		t.Error("a prefix of a name matched")
	}
}

// TestBatchVerifyRate: the batch limit checks every block (a rate for good blocks, the block's
// error for a bad one).
func TestBatchVerifyRate(t *testing.T) {
	cfg := config.Default()
	keys := fundSenders(cfg, 2)
	cfg.Chain.PowBits = 2
	p, err := actors.ParamsFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cb, _, err := mineTransfers(p, keys, 40, 20)
	if err != nil {
		t.Fatal(err)
	}
	if rate, err := BatchVerifyRate(p, cb.blocks); err != nil || rate <= 0 {
		t.Fatalf("rate %v, %v", rate, err)
	}
	bad := *cb.blocks[1]
	bad.Txs = append(bad.Txs[:0:0], bad.Txs...)
	tx := *bad.Txs[3]
	tx.Sig[0] ^= 1
	bad.Txs[3] = &tx
	if _, err := BatchVerifyRate(p, append(cb.blocks[:1:1], &bad)); err == nil || !strings.Contains(err.Error(), "block 2") {
		t.Errorf("a block with a bad signature: %v", err)
	}
}
