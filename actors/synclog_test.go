package actors

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/blocksync"
)

// jsonRecords decodes the JSON lines of a slog.JSONHandler.
func jsonRecords(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("record %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// TestSyncRecords: a synthetic sync of 18,000 blocks in about 145 s on an injected clock, seen as
// the peer manager sees it (at every block, and at its 1 s tick), logs `sync progress` at info at
// most once per 5 s (height, target_height, blocks_per_second, eta) and one `sync finished`
// (blocks, seconds, blocks_per_second, caught_up); a sync that stalls says its ETA is unknown.
func TestSyncRecords(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	progress := blocksync.NewProgress(syncReportEvery, syncSummaryMin)
	t0 := time.Unix(1_700_000_000, 0)
	now, nextTick := t0, t0.Add(time.Second)
	var reportedAt []time.Time
	observe := func(at time.Time, h uint64, syncing bool) {
		if r, ok := progress.Observe(at, h, 18_000, syncing); ok {
			logSyncReport(log, r)
			reportedAt = append(reportedAt, at)
		}
	}
	for h := uint64(0); h < 18_000; h++ {
		observe(now, h, true)
		now = now.Add(8 * time.Millisecond)
		if h == 9_000 { // a 12 s stall half way
			now = now.Add(12 * time.Second)
		}
		for !nextTick.After(now) {
			observe(nextTick, h, true)
			nextTick = nextTick.Add(time.Second)
		}
	}
	observe(now, 18_000, false)

	recs := jsonRecords(t, &buf)
	var prog []map[string]any
	var fin []map[string]any
	for _, r := range recs {
		if r["level"] != "INFO" || r["actor"] != namePeers {
			t.Fatalf("record %v: want level INFO, actor %s", r, namePeers)
		}
		switch r["msg"] {
		case "sync progress":
			prog = append(prog, r)
		case "sync finished":
			fin = append(fin, r)
		default:
			t.Fatalf("unexpected record %v", r)
		}
	}
	elapsed := now.Sub(t0)
	if n := len(prog); n == 0 || n > int(elapsed/syncReportEvery) {
		t.Fatalf("%d progress records over %v; want at most one per %v", n, elapsed, syncReportEvery)
	}
	for i := 1; i < len(reportedAt)-1; i++ { // the last one is the summary
		if d := reportedAt[i].Sub(reportedAt[i-1]); d < syncReportEvery {
			t.Fatalf("records %d and %d %v apart", i-1, i, d)
		}
	}
	var unknownETA bool
	for _, r := range prog {
		h, target, rate, eta := r["height"].(float64), r["target_height"].(float64), r["blocks_per_second"].(float64), r["eta"].(string)
		if h <= 0 || h > 18_000 || target != 18_000 || rate < 0 || rate > 130 {
			t.Fatalf("progress record %v", r)
		}
		if eta == "unknown" {
			unknownETA = rate == 0
			continue
		}
		if d, err := time.ParseDuration(eta); err != nil || d <= 0 || d > time.Hour {
			t.Fatalf("progress record %v: eta %q", r, eta)
		}
	}
	if !unknownETA {
		t.Error("the 12 s stall gave no record with an unknown ETA and a rate of 0")
	}
	if len(fin) != 1 {
		t.Fatalf("%d `sync finished` records; want 1", len(fin))
	}
	f := fin[0]
	if f["blocks"] != 18_000.0 || f["caught_up"] != true || f["seconds"] != float64(elapsed.Round(100*time.Millisecond))/float64(time.Second) {
		t.Fatalf("summary %v; want 18000 blocks in %v, caught up", f, elapsed)
	}
	if r := f["blocks_per_second"].(float64); r < 100 || r > 125 {
		t.Fatalf("summary rate %v", r)
	}
}
