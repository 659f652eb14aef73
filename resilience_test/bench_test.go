package resilience_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/actorchain/actorchain/perf"
)

// The figures of the performance table as Go benchmarks: each is a thin wrapper that runs one
// measurement of the perf package (the code `node bench` runs) at its full size and reports its
// rows with b.ReportMetric: the value in its unit, the limit measured in the same run and the
// ratio (a suffix #i tells the rows of a multi-row measurement apart). Nothing is asserted about
// the figures. The child processes some figures need are this test binary (see child_test.go).

func BenchmarkHashRate(b *testing.B)        { benchFigure(b, "hashrate") }
func BenchmarkIngestAPI(b *testing.B)       { benchFigure(b, "ingest") }
func BenchmarkIngestDirect(b *testing.B)    { benchFigure(b, "ingest-direct") }
func BenchmarkBlockImport5000(b *testing.B) { benchFigure(b, "import") }
func BenchmarkSync40k(b *testing.B)         { benchFigure(b, "sync") }

// BenchmarkReadyAfterRestart measures Start on homes holding 3,000 and 30,000 blocks against a
// fresh home.
func BenchmarkReadyAfterRestart(b *testing.B) { benchFigure(b, "ready") }

// BenchmarkSigtermToExit is SIGTERM to exit of a node process mining with 2 peers connected.
func BenchmarkSigtermToExit(b *testing.B) { benchFigure(b, "sigterm") }

// BenchmarkBlockHop5 is a block of 1,000 transfers crossing a line of 5 nodes whose mempools
// hold its transfers; BenchmarkBlockHop5Cold the same with mempools that never saw them.
func BenchmarkBlockHop5(b *testing.B)     { benchFigure(b, "hop") }
func BenchmarkBlockHop5Cold(b *testing.B) { benchFigure(b, "hop-cold") }

// BenchmarkSyncMemory8Peers is the peak RSS of a node process syncing 100,000 transfers from 8
// peers.
func BenchmarkSyncMemory8Peers(b *testing.B) { benchFigure(b, "rss") }

func BenchmarkWireBytesPerTransfer(b *testing.B) { benchFigure(b, "wire") }

// BenchmarkPingUnderConnFlood is a healthy pair's round trip while 500 idle TCP connections sit
// on one node's p2p port, against the same without them.
func BenchmarkPingUnderConnFlood(b *testing.B) { benchFigure(b, "flood") }
func BenchmarkScaleImport(b *testing.B)        { benchFigure(b, "scale-import") }
func BenchmarkScaleSync(b *testing.B)          { benchFigure(b, "scale-sync") }
func BenchmarkScalePeers(b *testing.B)         { benchFigure(b, "scale-peers") }

func benchFigure(b *testing.B, name string) {
	var rs []perf.Result
	for b.Loop() {
		var err error
		if rs, err = perf.Run(context.Background(), perf.Options{Sizes: perf.Full, Only: []string{name}, Child: testBinaryChild}); err != nil {
			b.Fatal(err)
		}
	}
	var table strings.Builder
	if err := perf.WriteTable(&table, rs); err != nil {
		b.Fatal(err)
	}
	b.Log("\n" + table.String())
	for i, r := range rs {
		suffix := ""
		if len(rs) > 1 {
			suffix = fmt.Sprintf("#%d", i)
		}
		b.ReportMetric(r.Value, metricUnit(r.Unit)+suffix)
		if r.LimitName != "" {
			b.ReportMetric(r.Limit, "limit-"+metricUnit(r.LimitUnit)+suffix)
			b.ReportMetric(r.Ratio, "ratio"+suffix)
		}
	}
}

// metricUnit makes a unit usable by b.ReportMetric (no spaces).
func metricUnit(u string) string { return strings.ReplaceAll(u, " ", "-") }

// testBinaryChild runs a node on home as this test binary (TestMain's child mode).
func testBinaryChild(home string) (*exec.Cmd, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childHomeEnv+"="+home)
	return cmd, nil
}
