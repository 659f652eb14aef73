package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/config"
)

func TestGenesisPowBits(t *testing.T) {
	tests := []struct {
		rate     float64
		interval time.Duration
		want     int
	}{
		{1 << 20, time.Second, 20},
		{3 << 20, time.Second, 22}, // log2(3) = 1.58: rounds up
		{1.4 * (1 << 20), time.Second, 20},
		{1 << 20, 2 * time.Second, 21},
		{1 << 20, time.Second / 4, 18},
		{0, time.Second, 1},
		{math.NaN(), time.Second, 1},
		{-5, time.Second, 1},
		{math.Inf(1), time.Second, 64},
		{1e30, time.Second, 64},
	}
	for _, tt := range tests {
		if got := genesisPowBits(tt.rate, tt.interval); got != tt.want {
			t.Errorf("genesisPowBits(%g, %s) = %d, want %d", tt.rate, tt.interval, got, tt.want)
		}
	}
}

// TestProbeHashRate: the probe takes about its time and measures a rate within reason for a
// double SHA-256 (more than 10,000 and less than 10^10 hashes a second on any core count).
func TestProbeHashRate(t *testing.T) {
	began := time.Now()
	rate := probeHashRate(50*time.Millisecond, 2)
	if took := time.Since(began); took > 2*time.Second {
		t.Fatalf("a 50 ms probe took %s", took)
	}
	if rate < 1e4 || rate > 1e10 {
		t.Fatalf("probe rate %g hashes/s", rate)
	}
}

// TestInitWritesAdjustingChain: `node init` gives a new chain a 1 s target block time, a 5 m
// half-life and a measured genesis difficulty; --chain copies the chain as it is.
func TestInitWritesAdjustingChain(t *testing.T) {
	dir := t.TempDir()
	home, _ := initHome(t, dir, "a")
	data, err := os.ReadFile(filepath.Join(home, config.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"target_block_time: 1s", "difficulty_halflife: 5m0s"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("node.yaml has no %q", want)
		}
	}
	cfg, err := config.Load(home, filepath.Join(home, config.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The probe's choice: on this machine well above the key's old default chains of tests (a
	// double SHA-256 costs under 100 µs) and below 64.
	if cfg.Chain.PowBits < 10 || cfg.Chain.PowBits > 40 {
		t.Fatalf("measured pow_bits %d", cfg.Chain.PowBits)
	}
	home2, _ := initHome(t, dir, "b", "--chain", filepath.Join(home, config.FileName))
	cfg2, err := config.Load(home2, filepath.Join(home2, config.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg2.Chain.PowBits != cfg.Chain.PowBits || cfg2.Chain.TargetBlockTime != time.Second || cfg2.Chain.DifficultyHalfLife != 5*time.Minute {
		t.Fatalf("--chain: %+v, want %+v", cfg2.Chain, cfg.Chain)
	}
}

// TestFreshChain: node devnet adjusts (from --pow-bits when given), node chaos and node netsim
// keep a fixed difficulty.
func TestFreshChain(t *testing.T) {
	if f := (&devnetOptions{fixedDifficulty: true, powSet: true, powBits: 7}).freshChain(); f != nil {
		t.Fatal("a fixed-difficulty devnet sets up an adjusting chain")
	}
	var c config.Chain
	(&devnetOptions{powSet: true, powBits: 0}).freshChain()(&c)
	if c.PowBits != 0 || c.TargetBlockTime != time.Second || c.DifficultyHalfLife != 5*time.Minute {
		t.Fatalf("--pow-bits 0: %+v", c)
	}
	(&devnetOptions{powSet: true, powBits: 7}).freshChain()(&c)
	if c.PowBits != 7 {
		t.Fatalf("--pow-bits 7: %+v", c)
	}
}
