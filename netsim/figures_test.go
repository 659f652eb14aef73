package netsim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/localnet"
)

func hashOf(i int) string { return fmt.Sprintf("%064x", i) }

var t0 = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func TestParseConnects(t *testing.T) {
	good := `{"time":"2026-12-02T09:00:00.123456789Z","level":"INFO","msg":"block connected","actor":"consensus","height":7,"hash":"` + hashOf(7) + `","txs":3,"source":"mined"}
not json: a panic line
{"time":"2026-12-02T09:00:01Z","level":"INFO","msg":"peer connected","height":9}
{"time":"2026-12-02T09:00:02.5Z","level":"INFO","msg":"block connected","height":8,"hash":"` + hashOf(8) + `","txs":0,"source":"peer"}
`
	cs, err := ParseConnects(3, strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []Connect{
		{Node: 3, At: time.Date(2026, 12, 2, 9, 0, 0, 123456789, time.UTC), Height: 7, Hash: hashOf(7), Txs: 3, Source: "mined"},
		{Node: 3, At: time.Date(2026, 12, 2, 9, 0, 2, 500000000, time.UTC), Height: 8, Hash: hashOf(8), Source: "peer"},
	}
	if fmt.Sprint(cs) != fmt.Sprint(want) {
		t.Fatalf("got %+v\nwant %+v", cs, want)
	}
	for name, line := range map[string]string{
		"no height": `{"time":"2026-12-02T09:00:00Z","msg":"block connected","hash":"` + hashOf(1) + `"}`,
		"bad time":  `{"time":"yesterday","msg":"block connected","height":1,"hash":"` + hashOf(1) + `"}`,
		"old field": `{"time":"2026-12-02T09:00:00Z","msg":"block connected","height":1,"block_hash":"` + hashOf(1) + `"}`,
	} {
		if _, err := ParseConnects(0, strings.NewReader(line+"\n")); err == nil || !strings.Contains(err.Error(), "node0 log line 1") {
			t.Errorf("%s: err %v, want one naming node0's line 1", name, err)
		}
	}
}

// TestSpread: a block that reaches 4 nodes at 0, 100, 200 and 300 ms (one node connecting it
// again later in a reorg) is at 50% after 100 ms, at 90% and 100% after 300 ms; one that never
// reached a node has no 100%; a block off the main chain or outside the window is left out.
func TestSpread(t *testing.T) {
	main := map[string]uint64{hashOf(1): 1, hashOf(2): 2, hashOf(3): 3}
	conns := []Connect{
		{Node: 2, At: at(200), Height: 1, Hash: hashOf(1), Source: "peer"},
		{Node: 0, At: at(0), Height: 1, Hash: hashOf(1), Source: "mined"},
		{Node: 1, At: at(100), Height: 1, Hash: hashOf(1), Source: "peer"},
		{Node: 3, At: at(300), Height: 1, Hash: hashOf(1), Source: "peer"},
		{Node: 3, At: at(900), Height: 1, Hash: hashOf(1), Source: "peer"},
		{Node: 1, At: at(1000), Height: 2, Hash: hashOf(2), Source: "mined"},
		{Node: 0, At: at(1050), Height: 2, Hash: hashOf(2), Source: "peer"},
		{Node: 2, At: at(1400), Height: 2, Hash: hashOf(2), Source: "peer"},
		{Node: 0, At: at(2000), Height: 3, Hash: hashOf(3), Source: "mined"},
		{Node: 1, At: at(1200), Height: 2, Hash: hashOf(99), Source: "mined"},
	}
	got := Spread(conns, 4, main, 1, 2)
	want := []BlockSpread{
		{Hash: hashOf(1), Height: 1, Miner: 0, Reached: 4, P50Ms: 100, P90Ms: 300, P100Ms: 300},
		{Hash: hashOf(2), Height: 2, Miner: 1, Reached: 3, P50Ms: 50, P90Ms: -1, P100Ms: -1},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	stale, total := Stale(conns, main, 1, 2)
	if stale != 1 || total != 3 {
		t.Fatalf("Stale = %d of %d, want 1 of 3", stale, total)
	}
	if iv := blockInterval(conns, main, 2, 3); math.Abs(iv-1.0) > 1e-9 {
		t.Fatalf("blockInterval = %v, want 1.0 (0 -> 1000 -> 2000 ms)", iv)
	}
}

// TestSpreadOrderFree: the spread does not depend on the order of the records, and a block
// reaches 50% no later than 90%, and 90% no later than 100%.
func TestSpreadOrderFree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nodes := rapid.IntRange(1, 40).Draw(t, "nodes")
		main := map[string]uint64{hashOf(1): 1}
		var conns []Connect
		for k := 0; k < nodes; k++ {
			if rapid.IntRange(0, 9).Draw(t, "miss") == 0 && k > 0 {
				continue
			}
			conns = append(conns, Connect{Node: k, At: at(rapid.IntRange(0, 5000).Draw(t, "ms")), Height: 1, Hash: hashOf(1)})
		}
		a := Spread(conns, nodes, main, 1, 1)
		rand.Shuffle(len(conns), func(i, j int) { conns[i], conns[j] = conns[j], conns[i] })
		b := Spread(conns, nodes, main, 1, 1)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("order changed the spread: %+v vs %+v", a, b)
		}
		s := a[0]
		if s.P90Ms >= 0 && s.P50Ms > s.P90Ms || s.P100Ms >= 0 && (s.P90Ms > s.P100Ms || s.P90Ms < 0) {
			t.Fatalf("out of order: %+v", s)
		}
		if (s.P100Ms >= 0) != (s.Reached == nodes) {
			t.Fatalf("100%% %v with %d of %d reached", s.P100Ms, s.Reached, nodes)
		}
	})
}

func TestSummarizeAndTo90(t *testing.T) {
	d := Summarize([]float64{5, -1, 1, 4, 2, 3})
	if d != (Dist{N: 5, Min: 1, P50: 3, P95: 5, Max: 5}) {
		t.Fatalf("Summarize = %+v", d)
	}
	if Summarize(nil) != (Dist{}) {
		t.Fatal("Summarize(nil) not zero")
	}
	s := TxSample{Known: []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, -1}}
	if got := s.To90(); got != 90 {
		t.Fatalf("To90 = %v, want 90 (9 of 10 nodes)", got)
	}
	s.Known[8] = -1
	if got := s.To90(); got != -1 {
		t.Fatalf("To90 = %v with 8 of 10 nodes, want -1", got)
	}
	if e := ExpectedStale(time.Second, 5*time.Second); math.Abs(e-(1-math.Exp(-0.2))) > 1e-12 {
		t.Fatalf("ExpectedStale = %v", e)
	}
}

func TestParseSentAndGroup(t *testing.T) {
	scrape := `# HELP actorchain_p2p_bytes_total Bytes
actorchain_p2p_bytes_total{direction="received",msg="block"} 999
actorchain_p2p_bytes_total{direction="sent",msg="block"} 1000
actorchain_p2p_bytes_total{direction="sent",msg="getblocks"} 10
actorchain_p2p_bytes_total{direction="sent",msg="tx"} 200
actorchain_p2p_bytes_total{direction="sent",msg="inv"} 30
actorchain_p2p_bytes_total{direction="sent",msg="getdata"} 3
actorchain_p2p_bytes_total{direction="sent",msg="ping"} 1.5e+06
actorchain_p2p_messages_total{direction="sent",msg="tx"} 4
`
	by, _, err := ParseSent(strings.NewReader(scrape))
	if err != nil {
		t.Fatal(err)
	}
	if g := Group(by); g != (Traffic{Block: 1010, Tx: 200, Announce: 33, Other: 1.5e6}) {
		t.Fatalf("Group = %+v", g)
	}
	_, msgs, err := ParseSent(strings.NewReader(scrape))
	if err != nil || len(msgs) != 1 || msgs["tx"] != 4 {
		t.Fatalf("ParseSent messages %v, %v; want tx 4", msgs, err)
	}
	if _, _, err := ParseSent(strings.NewReader(`actorchain_p2p_bytes_total{direction="sent",msg="tx"} many` + "\n")); err == nil {
		t.Fatal("a value that is no number was read")
	}
}

// TestGoals: the invariants decide OK; a goal figure that is not met does not fail the run, and a
// run whose records are missing (a node binary without CONTRACT §11's info record) does.
func TestGoals(t *testing.T) {
	good := func() *Report {
		rep := &Report{Nodes: 2, FromHeight: 1, ToHeight: 1, FinalHeight: 1, Tips: []string{hashOf(1)},
			Transfers: Transfers{Acked: 3, MinedOnce: 3}, Verify: []localnet.Verified{{Node: 0, OK: true}, {Node: 1, OK: true}},
			main: map[string]uint64{hashOf(1): 1}, MaxOutbound: 2,
			AddrBook: []AddrSample{{Outbound: []float64{0, 0}}, {Outbound: []float64{2, 1}}}}
		return rep
	}
	conns := []Connect{{Node: 0, At: at(0), Height: 1, Hash: hashOf(1), Source: "mined"}, {Node: 1, At: at(2000), Height: 1, Hash: hashOf(1)}}
	rep := good()
	rep.compute(conns, nil, 3)
	if !rep.OK || rep.OneTipMs != 2000 {
		t.Fatalf("a good run: OK %v, one tip after %v ms; goals %+v", rep.OK, rep.OneTipMs, rep.Goals)
	}
	if rep.SlotFill != 0.75 || rep.SlotsFullAll != 1 {
		t.Fatalf("slot fill %v, %d full; want 0.75 and 1 (outbound 2 and 1 of 2)", rep.SlotFill, rep.SlotsFullAll)
	}
	if rep.Goals[0].Met {
		t.Fatalf("block to 90%% p95 of 2000 ms counted as met: %+v", rep.Goals[0])
	}
	for name, edit := range map[string]func(*Report) []Connect{
		"no records":        func(*Report) []Connect { return nil },
		"a transfer twice":  func(r *Report) []Connect { r.Transfers.MinedOnce, r.Transfers.MoreThanOnce = 2, 1; return conns },
		"two tips":          func(r *Report) []Connect { r.Tips = append(r.Tips, hashOf(2)); return conns },
		"verify failed":     func(r *Report) []Connect { r.Verify[1].OK = false; return conns },
		"a process exited":  func(r *Report) []Connect { r.Exits = []string{"node1 exited"}; return conns },
		"nothing was acked": func(r *Report) []Connect { r.Transfers = Transfers{}; return conns },
	} {
		rep := good()
		cs := edit(rep)
		rep.compute(cs, nil, 3)
		if rep.OK {
			t.Errorf("%s: OK", name)
		}
	}
}

// TestProcReaders: this test process has CPU time, a resident set and context switches; a pid
// that does not exist reads as -1 (or an error).
func TestProcReaders(t *testing.T) {
	self := os.Getpid()
	for i := 0; i < 1e6; i++ { // some CPU time for the counters
		_ = fmt.Sprint(i)
	}
	cpu, sw := readCPU([]int{self, -5}), readSwitches([]int{self, -5})
	if cpu[0] <= 0 || cpu[1] != -1 || sw[0] <= 0 || sw[1] != -1 {
		t.Fatalf("readCPU %v, readSwitches %v", cpu, sw)
	}
	if st := readSchedTimes([]int{self, -5}); st[0].Run <= 0 || st[0].Wait < 0 || st[1].Run != -1 {
		t.Fatalf("readSchedTimes %v", st)
	}
	if m, err := readRSS(self); err != nil || m <= 1 {
		t.Fatalf("readRSS = %v, %v", m, err)
	}
	if _, err := readRSS(-5); err == nil {
		t.Fatal("readRSS of no process: no error")
	}
}

// TestContention: CPU and run-queue wait per CPU ms from the sums at both ends of a window;
// unread nodes and nodes whose counts went back (a thread ended) are left out; miners apart
// from the rest.
func TestContention(t *testing.T) {
	before := []SchedTimes{{Run: 0, Wait: 0}, {Run: 1e9, Wait: 1e9}, {Run: -1}, {Run: 5e9, Wait: 0}, {Run: 0, Wait: 0}}
	after := []SchedTimes{{Run: 1e9, Wait: 4e9}, {Run: 3e9, Wait: 2e9}, {Run: 9e9, Wait: 1e9}, {Run: 4e9, Wait: 0}, {Run: 5e8, Wait: 5e9}}
	c := contention(before, after, 10, []int{1, 2})
	// node0: 1 s on a core in 10 s (10%), 4 ms waited per ms; node1 (a miner): 0.5 ms per ms;
	// node4: 5%, 10.
	if c.CPUPercent.N != 2 || c.CPUPercent.Min != 5 || c.CPUPercent.Max != 10 {
		t.Errorf("CPU %+v", c.CPUPercent)
	}
	if c.WaitPerCPU.N != 2 || c.WaitPerCPU.Min != 4 || c.WaitPerCPU.Max != 10 {
		t.Errorf("wait %+v", c.WaitPerCPU)
	}
	if c.Miners.N != 1 || c.Miners.P50 != 0.5 {
		t.Errorf("miners %+v", c.Miners)
	}
	for _, bad := range []string{"", "12", "x 3 4", "1 y 2"} {
		if _, _, ok := parseSchedstat(bad); ok {
			t.Errorf("parseSchedstat(%q) ok", bad)
		}
	}
	if r, w, ok := parseSchedstat("123 456 7\n"); !ok || r != 123 || w != 456 {
		t.Errorf("parseSchedstat = %v %v %v", r, w, ok)
	}
}

// TestHistogramQuantile: buckets read from the exposition format, summed over nodes, and the
// quantile as the bound of the bucket that holds the q-th sample.
func TestHistogramQuantile(t *testing.T) {
	const text = `# HELP actorchain_miner_tip_switch_seconds x
# TYPE actorchain_miner_tip_switch_seconds histogram
actorchain_miner_tip_switch_seconds_bucket{le="0.0001"} 0
actorchain_miner_tip_switch_seconds_bucket{le="0.0002"} 3
actorchain_miner_tip_switch_seconds_bucket{le="0.0004"} 9
actorchain_miner_tip_switch_seconds_bucket{le="0.0008"} 10
actorchain_miner_tip_switch_seconds_bucket{le="+Inf"} 10
actorchain_miner_tip_switch_seconds_sum 0.003
actorchain_miner_tip_switch_seconds_count 10
actorchain_block_import_seconds_bucket{le="0.0005"} 99
`
	a, err := ParseHistogram(strings.NewReader(text), "actorchain_miner_tip_switch_seconds")
	if err != nil || len(a) != 5 || a.Count() != 10 {
		t.Fatalf("parsed %v, %v", a, err)
	}
	for _, tc := range []struct{ q, want float64 }{{0.1, 0.0002}, {0.3, 0.0002}, {0.5, 0.0004}, {0.9, 0.0004}, {0.95, 0.0008}, {1, 0.0008}} {
		if got := a.Quantile(tc.q); got != tc.want {
			t.Errorf("q %v: %v, want %v", tc.q, got, tc.want)
		}
	}
	b, _ := ParseHistogram(strings.NewReader(text), "actorchain_miner_tip_switch_seconds")
	b[math.Inf(1)] += 10 // 10 samples beyond the last finite bound
	a.Add(b)
	if a.Count() != 30 || !math.IsInf(a.Quantile(0.9), 1) || a.Quantile(0.5) != 0.0004 {
		t.Fatalf("summed: count %v, p50 %v, p90 %v", a.Count(), a.Quantile(0.5), a.Quantile(0.9))
	}
	if (Histogram{}).Quantile(0.5) != 0 {
		t.Fatal("an empty histogram has a quantile")
	}
	if _, err := ParseHistogram(strings.NewReader(`actorchain_miner_tip_switch_seconds_bucket{le="x"} 1`), "actorchain_miner_tip_switch_seconds"); err == nil {
		t.Fatal("a bad bound was read")
	}
}

// TestTipSwitchOver10: the samples beyond the histogram's 10 ms bound are counted; a histogram
// without that bound (the stale stop's) has no count.
func TestTipSwitchOver10(t *testing.T) {
	h := Histogram{0.0064: 5, 0.010: 7, 0.0128: 9, math.Inf(1): 10}
	got := tipSwitch(h)
	if got.N != 10 || got.Over10 == nil || *got.Over10 != 3 || got.over10() != "3" {
		t.Fatalf("got %+v", got)
	}
	delete(h, 0.010)
	if got := tipSwitch(h); got.Over10 != nil || got.over10() != "?" {
		t.Fatalf("without a 10 ms bound: %+v", got)
	}
}
