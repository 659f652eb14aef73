package perf

import (
	"strings"
	"testing"
	"time"

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

// TestConnectedLog: the sync row reads "block connected" records from a JSON log that arrives in
// pieces: only whole lines count, the first connect's time is kept, and the wait ends at the
// first record at or above the height wanted (other records and non-JSON lines are skipped).
func TestConnectedLog(t *testing.T) {
	var buf syncBuffer
	var c connectedLog
	read := func(want uint64) (time.Time, bool) {
		lines, off := buf.since(c.off)
		c.off = off
		return c.scan(lines, want)
	}
	write := func(s string) { _, _ = buf.Write([]byte(s)) }
	write(`{"time":"2026-12-03T07:00:00.001Z","level":"INFO","msg":"peer connected","height":40}` + "\n")
	write(`not json, "block connected"` + "\n")
	write(`{"time":"2026-12-03T07:00:00.010Z","level":"INFO","msg":"block connected","height":1}` + "\n")
	write(`{"time":"2026-12-03T07:00:00.020Z","level":"INFO","msg":"block conn`) // half a line
	if at, done := read(2); done || !at.IsZero() {
		t.Fatalf("done %v at %v before height 2", done, at)
	}
	if want := time.Date(2026, 12, 3, 7, 0, 0, 10e6, time.UTC); !c.first.Equal(want) {
		t.Fatalf("first = %v, want %v", c.first, want)
	}
	write(`ected","height":2}` + "\n")
	at, done := read(2)
	if want := time.Date(2026, 12, 3, 7, 0, 0, 20e6, time.UTC); !done || !at.Equal(want) {
		t.Fatalf("done %v at %v, want height 2's %v", done, at, want)
	}
	if want := time.Date(2026, 12, 3, 7, 0, 0, 10e6, time.UTC); !c.first.Equal(want) {
		t.Fatalf("first moved to %v", c.first)
	}
	if lines, off := buf.since(c.off); lines != "" || off != c.off {
		t.Fatalf("since at the end = %q, %d", lines, off)
	}
}
