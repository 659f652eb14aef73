package perf

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Sizes are the amounts of work of each measurement.
type Sizes struct {
	HashPhase      time.Duration // how long each half of the hash-rate figure hashes
	IngestTxs      int           // transfers submitted by the ingest figure
	ImportTxs      int           // transfers in the imported block
	ImportRuns     int           // imports (fresh nodes) of which the median is taken
	SyncTxs        int           // transfers of the headline sync
	ReadyBlocks    []int         // chain lengths the restart is measured at
	ReadyRuns      int           // starts of which the median is taken
	SigtermRuns    int           // child processes stopped, median taken
	HopRounds      int           // blocks sent along the line
	RSSTxs         int           // transfers synced by the child whose memory is read
	RSSPeers       int           // peers it syncs from
	WireTxs        int           // transfers synced through the byte-counting proxy
	ScaleTxs       []int         // sizes of the scaling rows (ingest, import and sync)
	ScalePeers     []int         // peer counts of the scaling rows
	ScalePeersTxs  int           // transfers synced in the peer-scaling rows
	AddrPeers      int           // unreachable peers in the address flood's bundle
	AddrAdds       int           // and added one by one with POST /v1/peers
	AddrWindow     time.Duration // each window of the address-flood figure
	UserIngestTxs  int           // transfers sent by the user-ingest figure's 4 `node tx send` processes
	UserSyncTxs    int           // transfers synced between two `node run` processes
	UserRounds     int           // user runs (alternating with their in-process control) of which the median is taken
	UserSyncRounds int           // user syncs, each with its limits measured right after it; the round of the median ratio is reported
}

// Full are the sizes of the table.
var Full = Sizes{
	HashPhase: 2 * time.Second, IngestTxs: 20_000, ImportTxs: 5_000, ImportRuns: 3, SyncTxs: 40_000,
	ReadyBlocks: []int{3_000, 30_000}, ReadyRuns: 15, SigtermRuns: 5, HopRounds: 9,
	RSSTxs: 100_000, RSSPeers: 8, WireTxs: 10_000,
	ScaleTxs: []int{1_000, 10_000, 100_000}, ScalePeers: []int{1, 2, 4, 8}, ScalePeersTxs: 10_000,
	AddrPeers: 10_000, AddrAdds: 300, AddrWindow: 20 * time.Second,
	UserIngestTxs: 40_000, UserSyncTxs: 200_000, UserRounds: 3, UserSyncRounds: 5,
}

// Quick are small sizes for a run of a few seconds per figure: the table's shape, not its figures.
var Quick = Sizes{
	HashPhase: 300 * time.Millisecond, IngestTxs: 2_000, ImportTxs: 1_000, ImportRuns: 1, SyncTxs: 4_000,
	ReadyBlocks: []int{300}, ReadyRuns: 3, SigtermRuns: 1, HopRounds: 1,
	RSSTxs: 4_000, RSSPeers: 2, WireTxs: 2_000,
	ScaleTxs: []int{1_000, 4_000}, ScalePeers: []int{1, 2}, ScalePeersTxs: 2_000,
	AddrPeers: 10_000, AddrAdds: 300, AddrWindow: 5 * time.Second,
	UserIngestTxs: 800, UserSyncTxs: 2_000, UserRounds: 1, UserSyncRounds: 1,
}

// measurement is one selectable part of the run.
type measurement struct {
	name string
	// extra measurements run only when selected with Only (variants kept for comparison).
	extra bool
	run   func(l *Lab, s Sizes) ([]Result, error)
}

// measurements in the order of the table, then the scaling rows.
var measurements = []measurement{
	{name: "hashrate", run: hashRate},
	{name: "ingest", run: func(l *Lab, s Sizes) ([]Result, error) { return ingest(l, s, false) }},
	{name: "ingest-direct", extra: true, run: func(l *Lab, s Sizes) ([]Result, error) { return ingest(l, s, true) }},
	{name: "import", run: func(l *Lab, s Sizes) ([]Result, error) {
		return blockImport(l, "import", s.ImportTxs, s.ImportRuns, atLeast(1.0))
	}},
	{name: "sync", run: syncHeadline},
	{name: "ready", run: ready},
	{name: "sigterm", run: sigterm},
	{name: "hop", run: func(l *Lab, s Sizes) ([]Result, error) { return blockHop(l, s, true, true) }},
	{name: "hop-cold", run: func(l *Lab, s Sizes) ([]Result, error) { return blockHop(l, s, false, true) }},
	{name: "hop-full", extra: true, run: func(l *Lab, s Sizes) ([]Result, error) { return blockHop(l, s, true, false) }},
	{name: "hop-full-cold", extra: true, run: func(l *Lab, s Sizes) ([]Result, error) { return blockHop(l, s, false, false) }},
	{name: "rss", run: rss},
	{name: "wire", run: wire},
	{name: "flood", run: flood},
	{name: "addr-flood", run: addrFlood},
	{name: "user-ingest", run: userIngest},
	{name: "user-sync", run: userSync},
	{name: "scale-ingest", run: scaleIngest},
	{name: "scale-import", run: scaleImport},
	{name: "scale-sync", run: scaleSync},
	{name: "scale-peers", run: scalePeers},
}

// Names lists every measurement Only accepts, in run order.
func Names() []string {
	var out []string
	for _, m := range measurements {
		out = append(out, m.name)
	}
	return out
}

// Options configure a run.
type Options struct {
	// Sizes of the work; zero value: Full.
	Sizes Sizes
	// Only selects measurements by name; empty: every one not marked extra.
	Only []string
	// Child starts a node process on a home (RSS, SIGTERM, address-flood and user figures). Nil:
	// Node's `run --home HOME --log-format json`.
	Child ChildCommand
	// Node runs the node binary with arguments (the user figures' `tx send` and `peers add`).
	// Nil: DefaultNode.
	Node NodeCommand
	// Progress receives a line as each measurement starts and ends; nil: none.
	Progress io.Writer
	// Logger receives the in-process nodes' records; nil: discarded.
	Logger *slog.Logger
}

// Run starts what the selected measurements need on loopback, runs them one after another and
// returns their rows; everything it started is stopped and removed before it returns, also on an
// error (which names the measurement). Cancelling ctx stops every node and child process at once,
// so that the measurement under way fails soon, and Run returns ctx's error.
func Run(ctx context.Context, opts Options) ([]Result, error) {
	sizes := opts.Sizes
	if sizes.IngestTxs == 0 {
		sizes = Full
	}
	for _, name := range opts.Only {
		if !slices.Contains(Names(), name) {
			return nil, fmt.Errorf("unknown measurement %q (have %s)", name, strings.Join(Names(), ", "))
		}
	}
	lab, err := newLab(opts.Logger, opts.Child, opts.Node)
	if err != nil {
		return nil, err
	}
	// The watcher tears the lab down when ctx is cancelled; it is joined before Run returns.
	finished := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-ctx.Done():
			_ = lab.Close()
		case <-finished:
		}
	})
	defer wg.Wait()
	defer close(finished)
	var results []Result
	for _, m := range measurements {
		if len(opts.Only) > 0 && !slices.Contains(opts.Only, m.name) || len(opts.Only) == 0 && m.extra {
			continue
		}
		if err := ctx.Err(); err != nil {
			_ = lab.Close()
			return results, err
		}
		progress(opts.Progress, "%s: running", m.name)
		t0 := time.Now()
		rs, err := m.run(lab, sizes)
		if err != nil {
			_ = lab.Close()
			if ctx.Err() != nil {
				return results, fmt.Errorf("%s: %w", m.name, ctx.Err())
			}
			return results, fmt.Errorf("%s: %w", m.name, err)
		}
		progress(opts.Progress, "%s: done in %.1f s", m.name, time.Since(t0).Seconds())
		results = append(results, rs...)
	}
	return results, lab.Close()
}

func progress(w io.Writer, format string, a ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", a...)
	}
}
