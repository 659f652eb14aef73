package netsim

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/actorchain/actorchain/localnet"
)

// Report is what a run measured; it is printed and written as JSON (docs/performance.md reads
// it with scripts/netsim_table.py).
type Report struct {
	Seed         int64             `json:"seed"`
	Nodes        int               `json:"nodes"`
	Miners       []Miner           `json:"miners"`
	MaxOutbound  int               `json:"max_outbound"`
	LinkMode     localnet.LinkMode `json:"link_mode"`
	LinkWhy      string            `json:"link_mode_reason"`
	LatencyMinMs int               `json:"latency_min_ms"`
	LatencyMaxMs int               `json:"latency_max_ms"`
	PowBits      int               `json:"pow_bits"`
	PowWhy       string            `json:"pow_bits_reason"`
	TargetS      float64           `json:"target_block_time_s"`
	HalfLifeS    float64           `json:"difficulty_halflife_s"` // 0: fixed difficulty
	Senders      int               `json:"senders"`
	// MinersLowPriority: the miners ran with mining.low_priority; MinersYielding: in its form
	// that yields the cores (reports before 2026-12-04 have only the first field, and their
	// miners hashed on threads at nice 19).
	MinersLowPriority bool `json:"miners_low_priority"`
	MinersYielding    bool `json:"miners_yielding"`

	// The measured window: main-chain heights [FromHeight, ToHeight] while the load ran.
	FromHeight uint64  `json:"from_height"`
	ToHeight   uint64  `json:"to_height"`
	Blocks     int     `json:"blocks"`
	IntervalS  float64 `json:"block_interval_s"` // mean over the window
	WindowS    float64 `json:"window_s"`

	// Block propagation over the window's main-chain blocks: time from the first connect (the
	// miner's) until 50%, 90%, 100% of the nodes had connected the block (ms).
	BlockTo50  Dist          `json:"block_to_50_ms"`
	BlockTo90  Dist          `json:"block_to_90_ms"`
	BlockTo100 Dist          `json:"block_to_100_ms"`
	Spread     []BlockSpread `json:"blocks_spread"`

	StaleBlocks     int     `json:"stale_blocks"`
	ConnectedBlocks int     `json:"connected_blocks"`
	StaleRate       float64 `json:"stale_rate"`
	// ExpectedStale is 1 - e^(-t/T), t the median time to 100%, T the measured interval.
	ExpectedStale float64 `json:"expected_stale_rate"`
	StaleRatio    float64 `json:"stale_ratio"` // StaleRate / ExpectedStale (0 when either is 0)

	TxSamples   int  `json:"tx_samples"`
	TxTo90      Dist `json:"tx_to_90_ms"` // from the 202 until 90% of the nodes know it
	TxUnreached int  `json:"tx_samples_not_at_90"`

	Transfers Transfers `json:"transfers"`

	// Bytes sent per node (the sum over nodes of actorchain_p2p_bytes_total{direction="sent"} in
	// the window, divided by the nodes): block messages per connected block, tx messages per
	// acknowledged transfer, announcements per item (block or transfer), the rest per second.
	Traffic              Traffic `json:"bytes_sent_in_window"`
	BytesPerBlock        float64 `json:"bytes_per_node_per_block"`
	BytesPerTransfer     float64 `json:"bytes_per_node_per_transfer"`
	AnnounceBytesPerItem float64 `json:"announce_bytes_per_node_per_item"`
	OtherBytesPerSecond  float64 `json:"other_bytes_per_node_per_second"`
	// BlockCopies is how many whole block messages each node sent per connected block: the
	// relay's redundancy (about its peer count with full-block relay; compact relay lowers it).
	BlockCopies float64 `json:"block_messages_per_node_per_block"`

	// TipSwitch is how long the miners took from a new tip to searching on it (ms, the upper
	// bounds of actorchain_miner_tip_switch_seconds's buckets over every miner's workers).
	TipSwitch TipSwitch `json:"miner_tip_switch_ms"`
	// StaleStop is how long the miners' searches on a tip went on after a new one was
	// published (actorchain_miner_stale_stop_seconds, as TipSwitch): the hashing that can make a
	// stale block of its own.
	StaleStop TipSwitch `json:"miner_stale_stop_ms"`

	AddrBook []AddrSample `json:"address_book"`
	// SlotFill is the last sample's outbound connections over p2p.max_outbound, the mean over
	// nodes, and how many nodes had every outbound slot filled.
	SlotFill     float64  `json:"outbound_slot_fill"`
	SlotsFullAll int      `json:"nodes_outbound_full"`
	Idle         IdleCost `json:"idle"`
	// Contention is what the load window cost the machine, from every node thread's schedstat.
	Contention Contention `json:"contention"`

	FinalHeight uint64   `json:"final_height"`
	FinalTip    string   `json:"final_tip"`
	Tips        []string `json:"final_tips"` // distinct final tips ("" a node that did not answer)
	// TieBroken: the miners stopped on a tie of equal work, which one miner's next block ended.
	TieBroken bool `json:"tie_broken"`
	// OneTipMs is how long after the last block's first connect the last node connected it.
	OneTipMs float64             `json:"one_tip_after_last_block_ms"`
	Verify   []localnet.Verified `json:"verify"`
	Exits    []string            `json:"unexpected_exits"`
	Goals    []Goal              `json:"goals"`
	OK       bool                `json:"ok"`
	TookS    float64             `json:"took_s"`
	// Interrupted: the run was cancelled (Ctrl-C).
	Interrupted bool `json:"interrupted,omitempty"`

	main        map[string]uint64
	bytes       map[string]float64
	msgs        map[string]float64
	windowStart time.Time
	windowEnd   time.Time
}

// Miner is one mining node and its share of the window's main-chain blocks.
type Miner struct {
	Node    int     `json:"node"`
	Workers int     `json:"workers"`
	Blocks  int     `json:"blocks"`
	Share   float64 `json:"share"`
}

// Transfers is what became of the acknowledged transfers: each must be in node0's main chain
// exactly once.
type Transfers struct {
	Acked        int `json:"acked"`
	MinedOnce    int `json:"mined_once"`
	Missing      int `json:"missing"`
	MoreThanOnce int `json:"more_than_once"`
}

// AddrSample is every node's address book and connection slots at one moment.
type AddrSample struct {
	AtS        float64   `json:"at_s"`
	Known      []float64 `json:"-"`
	Outbound   []float64 `json:"-"`
	Inbound    []float64 `json:"-"`
	Unanswered int       `json:"unanswered"`
	KnownD     Dist      `json:"known"`
	OutboundD  Dist      `json:"outbound"`
	InboundD   Dist      `json:"inbound"`
}

// Contention is the nodes' CPU over the load window and how long their threads waited in the
// kernel's run queue for a core (runnable, not running), per millisecond they ran: the sum over
// every thread of /proc/PID/task/*/schedstat. It is the machine's share of any latency the
// nodes measure: a tip switch that needs 1 ms of CPU takes about 1 + WaitPerCPU ms on average.
// CPUPercent and WaitPerCPU are over the nodes that do not mine; Miners is the wait of the
// mining nodes, whose sums are mostly their searches' threads (which sleep as long as they
// waited, mining.low_priority), so it says less about their other threads.
type Contention struct {
	CPUPercent Dist `json:"cpu_percent_of_a_core"`
	WaitPerCPU Dist `json:"run_queue_wait_ms_per_cpu_ms"`
	Miners     Dist `json:"miners_run_queue_wait_ms_per_cpu_ms"`
}

// SchedTimes is one process's threads' summed time on a core and in the run queue (ns); a
// negative Run: not read.
type SchedTimes struct{ Run, Wait float64 }

// contention computes Contention from each node's schedstat sums before and after a window of
// seconds; miners are node indexes. A node unread at either end is left out.
func contention(before, after []SchedTimes, seconds float64, miners []int) Contention {
	var cpu, wait, mw []float64
	for k := range before {
		if k >= len(after) || before[k].Run < 0 || after[k].Run < 0 {
			continue
		}
		run, w := after[k].Run-before[k].Run, after[k].Wait-before[k].Wait
		if run <= 0 || w < 0 {
			continue // a thread ended in the window and took its counts with it
		}
		if slices.Contains(miners, k) {
			mw = append(mw, w/run)
			continue
		}
		if seconds > 0 {
			cpu = append(cpu, 100*run/1e9/seconds)
		}
		wait = append(wait, w/run)
	}
	return Contention{CPUPercent: Summarize(cpu), WaitPerCPU: Summarize(wait), Miners: Summarize(mw)}
}

// readSchedTimes sums /proc/PID/task/*/schedstat (run and run-queue wait, ns) of each process.
func readSchedTimes(pids []int) []SchedTimes {
	out := make([]SchedTimes, len(pids))
	for i, pid := range pids {
		ok := eachThread(pid, "schedstat", func(b []byte) bool {
			run, wait, ok := parseSchedstat(string(b))
			out[i].Run += run
			out[i].Wait += wait
			return ok
		})
		if !ok {
			out[i].Run = -1
		}
	}
	return out
}

// eachThread calls fn with the content of /proc/PID/task/TID/name for every thread of process
// pid (a thread that ended meanwhile is skipped). It reports false when the threads cannot be
// listed or fn returns false (the content did not parse), which stops it.
func eachThread(pid int, name string, fn func([]byte) bool) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/" + name)
		if err != nil {
			continue // the thread ended
		}
		if !fn(b) {
			return false
		}
	}
	return true
}

// parseSchedstat reads a schedstat line: time on a core, time waiting in the run queue (ns),
// time slices.
func parseSchedstat(s string) (run, wait float64, ok bool) {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0, 0, false
	}
	r, err1 := strconv.ParseUint(f[0], 10, 64)
	w, err2 := strconv.ParseUint(f[1], 10, 64)
	return float64(r), float64(w), err1 == nil && err2 == nil
}

// IdleCost is the nodes' RSS and CPU while connected and idle.
type IdleCost struct {
	Seconds    float64 `json:"seconds"`
	CPUPercent Dist    `json:"cpu_percent"` // of one core, per node
	RSSMiB     Dist    `json:"rss_mib"`
	// SwitchesPerS: context switches a second of all the process's threads (voluntary and not),
	// a proxy for timer wakeups.
	SwitchesPerS Dist `json:"switches_per_s"`
}

// Goal is one of issue 11's goals with the figure measured.
type Goal struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
	// Invariant: a run fails when it does not hold (the others are figures to meet).
	Invariant bool `json:"invariant"`
}

func newReport(cfg Config, p Plan) *Report {
	rep := &Report{Seed: cfg.Seed, Nodes: p.Nodes, MaxOutbound: cfg.MaxOutbound,
		LatencyMinMs: int(cfg.Plan.LatencyMin / time.Millisecond), LatencyMaxMs: int(cfg.Plan.LatencyMax / time.Millisecond),
		PowBits: cfg.PowBits, PowWhy: cfg.PowWhy, TargetS: cfg.BlockTime.Seconds(), HalfLifeS: cfg.HalfLife.Seconds(), Senders: cfg.Senders,
		MinersLowPriority: cfg.MinersLowPriority, MinersYielding: cfg.MinersLowPriority}
	for _, k := range p.Miners() {
		rep.Miners = append(rep.Miners, Miner{Node: k, Workers: p.Workers[k]})
	}
	return rep
}

// compute derives the figures from the nodes' connects, the transfer samples and the acks.
func (rep *Report) compute(conns []Connect, samples []TxSample, acks int) {
	from, to := rep.FromHeight, rep.ToHeight
	rep.Spread = Spread(conns, rep.Nodes, rep.main, from, to)
	rep.Blocks = int(to - from + 1)
	rep.WindowS = rep.windowEnd.Sub(rep.windowStart).Seconds()
	var p50, p90, p100 []float64
	byMiner := map[int]int{}
	for _, s := range rep.Spread {
		p50, p90, p100 = append(p50, s.P50Ms), append(p90, s.P90Ms), append(p100, s.P100Ms)
		byMiner[s.Miner]++
	}
	rep.BlockTo50, rep.BlockTo90, rep.BlockTo100 = Summarize(p50), Summarize(p90), Summarize(p100)
	for i := range rep.Miners {
		rep.Miners[i].Blocks = byMiner[rep.Miners[i].Node]
		if len(rep.Spread) > 0 {
			rep.Miners[i].Share = float64(rep.Miners[i].Blocks) / float64(len(rep.Spread))
		}
	}
	rep.IntervalS = blockInterval(conns, rep.main, from, to)
	rep.StaleBlocks, rep.ConnectedBlocks = Stale(conns, rep.main, from, to)
	if rep.ConnectedBlocks > 0 {
		rep.StaleRate = float64(rep.StaleBlocks) / float64(rep.ConnectedBlocks)
	}
	rep.ExpectedStale = ExpectedStale(time.Duration(rep.BlockTo100.P50*float64(time.Millisecond)), time.Duration(rep.IntervalS*float64(time.Second)))
	if rep.ExpectedStale > 0 && rep.StaleRate > 0 {
		rep.StaleRatio = rep.StaleRate / rep.ExpectedStale
	}
	var to90 []float64
	for _, s := range samples {
		v := s.To90()
		if v < 0 {
			rep.TxUnreached++
		}
		to90 = append(to90, v)
	}
	rep.TxSamples, rep.TxTo90 = len(samples), Summarize(to90)
	rep.traffic(acks)
	rep.summarizeAddrs()
	rep.slots()
	rep.oneTip(conns)
	rep.goals()
}

// summarizeAddrs summarizes every address-book sample over the nodes.
func (rep *Report) summarizeAddrs() {
	for i := range rep.AddrBook {
		a := &rep.AddrBook[i]
		a.KnownD, a.OutboundD, a.InboundD = Summarize(a.Known), Summarize(a.Outbound), Summarize(a.Inbound)
	}
}

// traffic divides the window's sent bytes per node by blocks, transfers and seconds.
func (rep *Report) traffic(acks int) {
	rep.Traffic = Group(rep.bytes)
	n := float64(rep.Nodes)
	if rep.ConnectedBlocks > 0 {
		rep.BytesPerBlock = rep.Traffic.Block / n / float64(rep.ConnectedBlocks)
		rep.BlockCopies = rep.msgs["block"] / n / float64(rep.ConnectedBlocks)
	}
	if acks > 0 {
		rep.BytesPerTransfer = rep.Traffic.Tx / n / float64(acks)
	}
	if items := rep.ConnectedBlocks + acks; items > 0 {
		rep.AnnounceBytesPerItem = rep.Traffic.Announce / n / float64(items)
	}
	if rep.WindowS > 0 {
		rep.OtherBytesPerSecond = rep.Traffic.Other / n / rep.WindowS
	}
}

// blockInterval is the mean time between the first connects of the window's main-chain blocks.
func blockInterval(conns []Connect, main map[string]uint64, from, to uint64) float64 {
	first := map[uint64]time.Time{}
	for _, c := range conns {
		if h, ok := main[c.Hash]; ok && h >= from-1 && h <= to {
			if t, ok := first[h]; !ok || c.At.Before(t) {
				first[h] = c.At
			}
		}
	}
	a, okA := first[from-1]
	if !okA {
		a, okA = first[from]
		from++
	}
	b, okB := first[to]
	if !okA || !okB || to < from {
		return 0
	}
	return b.Sub(a).Seconds() / float64(to-from+1)
}

// slots reads the outbound slot fill from the last address-book sample.
func (rep *Report) slots() {
	if len(rep.AddrBook) == 0 || rep.MaxOutbound <= 0 {
		return
	}
	last := rep.AddrBook[len(rep.AddrBook)-1]
	sum := 0.0
	for _, o := range last.Outbound {
		sum += o
		if int(o) >= rep.MaxOutbound {
			rep.SlotsFullAll++
		}
	}
	if len(last.Outbound) > 0 {
		rep.SlotFill = sum / float64(len(last.Outbound)) / float64(rep.MaxOutbound)
	}
}

// oneTip is the last block's time to reach every node.
func (rep *Report) oneTip(conns []Connect) {
	rep.OneTipMs = -1
	for _, s := range Spread(conns, rep.Nodes, rep.main, rep.FinalHeight, rep.FinalHeight) {
		rep.OneTipMs = s.P100Ms
	}
}

// goals sets issue 11's goals (§3) against the figures; the invariants decide OK.
func (rep *Report) goals() {
	verified := 0
	for _, v := range rep.Verify {
		if v.OK {
			verified++
		}
	}
	t := rep.Transfers
	oneTip := len(rep.Tips) == 1 && rep.Tips[0] != ""
	rep.Goals = []Goal{
		{Name: "block to 90% of nodes, p95", Want: "<= 1500 ms", Got: fmt.Sprintf("%.0f ms", rep.BlockTo90.P95), Met: rep.BlockTo90.N > 0 && rep.BlockTo90.P95 <= 1500},
		{Name: "stale rate vs propagation", Want: "<= 1.25x of 1-e^(-t/T)", Got: fmt.Sprintf("%.3f vs %.3f expected (%.2fx)", rep.StaleRate, rep.ExpectedStale, rep.StaleRatio),
			Met: rep.StaleRate <= 1.25*rep.ExpectedStale},
		{Name: "miners switch to a new tip, p95", Want: "<= 10 ms", Got: fmt.Sprintf("<= %.1f ms (n %d; nodes' run-queue wait %.1f ms per CPU ms)", rep.TipSwitch.P95, rep.TipSwitch.N, rep.Contention.WaitPerCPU.P50),
			Met: rep.TipSwitch.N > 0 && rep.TipSwitch.P95 <= 10},
		{Name: "one tip within 5 s of the last block", Want: "<= 5000 ms", Got: fmt.Sprintf("%.0f ms, %d distinct tips", rep.OneTipMs, len(rep.Tips)),
			Met: oneTip && rep.OneTipMs >= 0 && rep.OneTipMs <= 5000},
		{Name: "every acknowledged transfer mined exactly once", Want: "all", Invariant: true,
			Got: fmt.Sprintf("%d acked, %d once, %d missing, %d more than once", t.Acked, t.MinedOnce, t.Missing, t.MoreThanOnce),
			Met: t.Acked > 0 && t.MinedOnce == t.Acked},
		{Name: "every node on one tip", Want: "1 tip", Got: fmt.Sprintf("%d", len(rep.Tips)), Met: oneTip, Invariant: true},
		{Name: "node verify on every home", Want: fmt.Sprintf("%d", rep.Nodes), Got: fmt.Sprintf("%d", verified), Met: verified == rep.Nodes, Invariant: true},
		{Name: "block connected records of the window's blocks", Want: fmt.Sprintf("%d blocks", rep.Blocks), Invariant: true,
			Got: recordsGot(len(rep.Spread)), Met: rep.Blocks > 0 && len(rep.Spread) == rep.Blocks},
		{Name: "no unexpected process exit", Want: "0", Got: fmt.Sprintf("%d", len(rep.Exits)), Met: len(rep.Exits) == 0, Invariant: true},
	}
	rep.OK = true
	for _, g := range rep.Goals {
		if g.Invariant && !g.Met {
			rep.OK = false
		}
	}
}

// recordsGot says how many window blocks had records, with a hint when none had.
func recordsGot(n int) string {
	if n == 0 {
		return "0 blocks (no info record 'block connected' with height and hash in any log: a node binary without CONTRACT §11's records?)"
	}
	return fmt.Sprintf("%d blocks", n)
}

func distinct(xs []string) []string { return slices.Compact(slices.Sorted(slices.Values(xs))) }

// TipSwitch summarizes the miners' tip switch histogram: samples, the bucket bounds of the
// median and the 95th percentile (ms), and how many samples took longer than 10 ms (the switch's
// goal, a bound of the histogram's own): finer than a percentile's bucket when two runs compare.
type TipSwitch struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_at_most"`
	P95 float64 `json:"p95_at_most"`
	// Over10 is absent for a histogram without a 10 ms bound (the stale stop's).
	Over10 *int `json:"over_10_ms,omitempty"`
}

func tipSwitch(h Histogram) TipSwitch {
	t := TipSwitch{N: int(h.Count()), P50: 1000 * h.Quantile(0.5), P95: 1000 * h.Quantile(0.95)}
	if in, ok := h[0.010]; ok {
		over := int(h.Count() - in)
		t.Over10 = &over
	}
	return t
}

// over10 prints TipSwitch.Over10.
func (t TipSwitch) over10() string {
	if t.Over10 == nil {
		return "?"
	}
	return strconv.Itoa(*t.Over10)
}

// Print writes the report's summary.
func (rep *Report) Print(w io.Writer) {
	difficulty := "fixed"
	if rep.HalfLifeS > 0 {
		difficulty = fmt.Sprintf("adjusting, half-life %.0fs", rep.HalfLifeS)
	}
	fmt.Fprintf(w, "netsim: %d nodes, links %s, latency %d-%d ms one way, genesis pow_bits %d, target %.1fs, difficulty %s\n",
		rep.Nodes, rep.LinkMode, rep.LatencyMinMs, rep.LatencyMaxMs, rep.PowBits, rep.TargetS, difficulty)
	fmt.Fprintf(w, "  window: heights %d..%d (%d blocks) in %.1fs, mean interval %.2fs\n", rep.FromHeight, rep.ToHeight, rep.Blocks, rep.WindowS, rep.IntervalS)
	priority := "the nodes' priority"
	if rep.MinersLowPriority {
		priority = "a priority that yields the cores"
	}
	for _, m := range rep.Miners {
		fmt.Fprintf(w, "  miner node%d: %d workers at %s, %d blocks (%.0f%%)\n", m.Node, m.Workers, priority, m.Blocks, 100*m.Share)
	}
	d := func(name string, x Dist) {
		fmt.Fprintf(w, "  %-28s p50 %7.0f ms  p95 %7.0f ms  max %7.0f ms  (n %d)\n", name, x.P50, x.P95, x.Max, x.N)
	}
	d("block to 50% of nodes", rep.BlockTo50)
	d("block to 90% of nodes", rep.BlockTo90)
	d("block to 100% of nodes", rep.BlockTo100)
	d("transfer to 90% of nodes", rep.TxTo90)
	fmt.Fprintf(w, "  stale blocks: %d of %d connected (%.3f; propagation implies %.3f)\n", rep.StaleBlocks, rep.ConnectedBlocks, rep.StaleRate, rep.ExpectedStale)
	fmt.Fprintf(w, "  bytes sent per node: %.0f per block (%.1f block messages), %.0f per transfer, %.0f per announced item, %.0f/s other\n",
		rep.BytesPerBlock, rep.BlockCopies, rep.BytesPerTransfer, rep.AnnounceBytesPerItem, rep.OtherBytesPerSecond)
	fmt.Fprintf(w, "  miners' switch to a new tip: p50 <= %.1f ms, p95 <= %.1f ms (n %d, %s over 10 ms); search on the old tip stopped: p50 <= %.1f ms, p95 <= %.1f ms (n %d)\n",
		rep.TipSwitch.P50, rep.TipSwitch.P95, rep.TipSwitch.N, rep.TipSwitch.over10(), rep.StaleStop.P50, rep.StaleStop.P95, rep.StaleStop.N)
	for _, a := range rep.AddrBook {
		fmt.Fprintf(w, "  at %5.0fs: known peers p50 %.0f (min %.0f), outbound p50 %.0f (min %.0f, max %.0f), inbound max %.0f\n",
			a.AtS, a.KnownD.P50, a.KnownD.Min, a.OutboundD.P50, a.OutboundD.Min, a.OutboundD.Max, a.InboundD.Max)
	}
	fmt.Fprintf(w, "  outbound slots: %.0f%% filled on average, all %d filled on %d of %d nodes\n", 100*rep.SlotFill, rep.MaxOutbound, rep.SlotsFullAll, rep.Nodes)
	fmt.Fprintf(w, "  idle over %.0fs: CPU per node p50 %.2f%% max %.2f%% of a core; RSS p50 %.1f MiB max %.1f MiB; context switches p50 %.0f/s max %.0f/s\n",
		rep.Idle.Seconds, rep.Idle.CPUPercent.P50, rep.Idle.CPUPercent.Max, rep.Idle.RSSMiB.P50, rep.Idle.RSSMiB.Max,
		rep.Idle.SwitchesPerS.P50, rep.Idle.SwitchesPerS.Max)
	c := rep.Contention
	fmt.Fprintf(w, "  load window: CPU per node p50 %.1f%% max %.1f%% of a core; run-queue wait per ms on a core p50 %.1f ms max %.1f ms (miners, searches included: p50 %.1f ms max %.1f ms)\n",
		c.CPUPercent.P50, c.CPUPercent.Max, c.WaitPerCPU.P50, c.WaitPerCPU.Max, c.Miners.P50, c.Miners.Max)
	fmt.Fprintf(w, "  final: height %d, tip %s\n", rep.FinalHeight, rep.FinalTip)
	for _, g := range rep.Goals {
		mark := "met"
		if !g.Met {
			mark = "NOT MET"
		}
		kind := "goal"
		if g.Invariant {
			kind = "check"
		}
		fmt.Fprintf(w, "  %-5s %-48s want %-24s got %s: %s\n", kind, g.Name, g.Want, g.Got, mark)
	}
	for _, e := range rep.Exits {
		fmt.Fprintf(w, "  unexpected exit: %s\n", e)
	}
	for _, v := range rep.Verify {
		if !v.OK {
			fmt.Fprintf(w, "  verify node%d: %s\n", v.Node, v.Error)
		}
	}
	fmt.Fprintf(w, "netsim: ok %v after %.1fs\n", rep.OK, rep.TookS)
}

// WriteJSON writes the report to file.
func (rep *Report) WriteJSON(file string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644)
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times (100 on Linux).
const clockTicks = 100

// readCPU reads each process's user plus system CPU seconds (-1 when unreadable).
func readCPU(pids []int) []float64 {
	out := make([]float64, len(pids))
	for i, pid := range pids {
		out[i] = -1
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command name (which may hold spaces) in parentheses.
		s := string(b)
		j := strings.LastIndexByte(s, ')')
		if j < 0 {
			continue
		}
		f := strings.Fields(s[j+1:])
		if len(f) < 13 {
			continue
		}
		ut, err1 := strconv.ParseFloat(f[11], 64)
		st, err2 := strconv.ParseFloat(f[12], 64)
		if err1 == nil && err2 == nil {
			out[i] = (ut + st) / clockTicks
		}
	}
	return out
}

// readRSS reads a process's resident set in MiB.
func readRSS(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseFloat(f[0], 64)
				return kb / 1024, err
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// readSwitches sums the context switches of every thread of each process (-1 when unreadable).
func readSwitches(pids []int) []float64 {
	out := make([]float64, len(pids))
	for i, pid := range pids {
		ok := eachThread(pid, "status", func(b []byte) bool {
			for _, line := range strings.Split(string(b), "\n") {
				if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
					n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
					out[i] += n
				}
			}
			return true
		})
		if !ok {
			out[i] = -1
		}
	}
	return out
}
