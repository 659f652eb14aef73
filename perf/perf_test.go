package perf

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/internal/testutil"
)

func TestRelativeRatioAndGoals(t *testing.T) {
	tests := []struct {
		name         string
		value, limit float64
		goals        []Goal
		ratio        float64
		met          bool
	}{
		{"at least, met", 9, 10, []Goal{atLeast(0.9)}, 0.9, true},
		{"at least, missed", 8, 10, []Goal{atLeast(0.9)}, 0.8, false},
		{"at most and value below, both met", 110, 100, []Goal{atMost(1.2), valueBelow(150)}, 1.1, true},
		{"ratio met, value missed", 180, 160, []Goal{atMost(1.2), valueBelow(150)}, 1.125, false},
		{"value below is strict", 150, 150, []Goal{valueBelow(150)}, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := relative("x", "fig", tc.value, "u", "lim", tc.limit, "u", tc.goals...)
			if r.Ratio != tc.ratio {
				t.Errorf("ratio %v, want %v", r.Ratio, tc.ratio)
			}
			if r.Met == nil || *r.Met != tc.met {
				t.Errorf("met %v, want %v", r.Met, tc.met)
			}
		})
	}
	if r := absolute("x", "fig", 5, "u"); r.Met != nil || r.Ratio != 0 {
		t.Errorf("absolute row without goals: met %v ratio %v", r.Met, r.Ratio)
	}
	if r := absolute("x", "fig", 5000, "tx/s", valueAtLeast(5000)); r.Met == nil || !*r.Met {
		t.Errorf("5000 >= 5000 not met")
	}
	if r := absolute("x", "fig", 151, "MiB", valueAtMost(150)); r.Met == nil || *r.Met {
		t.Errorf("151 <= 150 met")
	}
}

func TestWriteTableAndJSON(t *testing.T) {
	rs := []Result{
		relative("import", "block import", 900, "tx/s", "bare verify", 1000, "sig/s", atLeast(1)),
		absolute("sigterm", "SIGTERM to exit", 42, "ms", valueBelow(100)),
		relative("scale-sync", "sync of 1,000", 10, "tx/s", "bare verify", 20, "sig/s"),
	}
	rs[1].Note = "median of 1"
	var tab bytes.Buffer
	if err := WriteTable(&tab, rs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(tab.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "FIGURE") {
		t.Fatalf("table:\n%s", tab.String())
	}
	for i, want := range []string{"0.900 >= 1 NO", "(absolute) - < 100 (value) yes", "0.500 (none) -"} {
		if got := strings.Join(strings.Fields(lines[i+1]), " "); !strings.Contains(got, want) {
			t.Errorf("row %d %q lacks %q", i, got, want)
		}
	}
	if !strings.Contains(lines[4], "SIGTERM to exit: median of 1") {
		t.Errorf("note line %q", lines[4])
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, rs); err != nil {
		t.Fatal(err)
	}
	var back struct{ Results []Result }
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Results) != 3 || back.Results[0].Ratio != 0.9 || *back.Results[0].Met || back.Results[2].Met != nil {
		t.Errorf("JSON round trip: %+v", back.Results)
	}
}

func TestHelpers(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 40000: "40,000", 100000: "100,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestMedianRatio: the reported round is the one whose own ratio is the median, not the median
// value over the median limit.
func TestMedianRatio(t *testing.T) {
	for _, tc := range []struct {
		values, limits []float64
		want           int
	}{
		{[]float64{100}, []float64{200}, 0},
		// ratios 0.5, 0.9, 0.7: the median is round 2's
		{[]float64{100, 90, 140}, []float64{200, 100, 200}, 2},
		// ratios 0.8, 0.6, 1.0, 0.7: the lower middle one, 0.7 (round 3)
		{[]float64{80, 60, 100, 70}, []float64{100, 100, 100, 100}, 3},
		// the rates' median (120) over the limits' (150) would be 0.8; the rounds say 0.67
		{[]float64{120, 60, 130}, []float64{200, 90, 150}, 1},
	} {
		if got := medianRatio(tc.values, tc.limits); got != tc.want {
			t.Errorf("medianRatio(%v, %v) = %d, want %d", tc.values, tc.limits, got, tc.want)
		}
	}
}

// TestProxyCountsBothDirections sends known byte counts each way through the proxy.
func TestProxyCountsBothDirections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { // echo server: answers each 1000 bytes with 1000 bytes
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	})
	px, err := startProxy(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	c, err := net.Dial("tcp", px.Addr())
	if err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("x"), 1000)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, len(msg))); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	testutil.WaitFor(t, 5*time.Second, "the proxy to count 2000 bytes", func() bool { return px.Bytes() == 2000 })
	if err := px.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRunQuickImport runs the cheapest real measurement: the rows must be well formed and the
// ratio computed from the two measured numbers (no figure is asserted).
func TestRunQuickImport(t *testing.T) {
	rs, err := Run(context.Background(), Options{Sizes: Quick, Only: []string{"import"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("%d rows, want 1", len(rs))
	}
	r := rs[0]
	if r.Name != "import" || r.Value <= 0 || r.Limit <= 0 || r.Ratio != r.Value/r.Limit || r.Met == nil || r.Unit != "tx/s" {
		t.Errorf("row %+v", r)
	}
	if _, err := Run(context.Background(), Options{Sizes: Quick, Only: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), `unknown measurement "nope"`) {
		t.Errorf("unknown measurement: %v", err)
	}
}
