package actors

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
)

// TestParamsFromConfigSchedule: the default config is a fixed chain whose genesis does not
// depend on the half-life; target_block_time and difficulty_halflife become the schedule in ms.
func TestParamsFromConfigSchedule(t *testing.T) {
	def := config.Default()
	p, err := ParamsFromConfig(def)
	if err != nil {
		t.Fatal(err)
	}
	if p.Adjusting() || p.TargetBlockTimeMs != 0 || p.HalfLifeMs != 0 {
		t.Fatalf("default params adjust: %+v", p)
	}
	other := config.Default()
	other.Chain.DifficultyHalfLife = 7 * time.Minute
	q, err := ParamsFromConfig(other)
	if err != nil {
		t.Fatal(err)
	}
	if q.GenesisHash() != p.GenesisHash() {
		t.Fatal("the half-life changed a fixed chain's genesis")
	}
	adj := config.Default()
	adj.Chain.TargetBlockTime, adj.Chain.DifficultyHalfLife = 1500*time.Millisecond, 5*time.Minute
	a, err := ParamsFromConfig(adj)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Adjusting() || a.TargetBlockTimeMs != 1500 || a.HalfLifeMs != 300_000 || a.Validate() != nil {
		t.Fatalf("adjusting params %+v", a)
	}
	if a.GenesisHash() == p.GenesisHash() {
		t.Fatal("an adjusting chain has the fixed chain's genesis")
	}
}

// TestOldHomeKeepsGenesis: a chain section as homes were written before difficulty adjustment
// (no target_block_time, no difficulty_halflife) loads as a fixed-difficulty chain whose genesis
// hash is chainstate's golden one (chainstate.TestGenesisGolden, same parameters): such a home
// keeps its chain and its data bit for bit.
func TestOldHomeKeepsGenesis(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = 1
	}
	addr := chainstate.PublicKey(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)).Address()
	home := t.TempDir()
	file := filepath.Join(home, config.FileName)
	yaml := "chain:\n  id: actorchain-devnet\n  genesis_time: 2026-01-01T00:00:00Z\n  pow_bits: 20\n  block_reward: 50\n" +
		"  validators: []\n  alloc:\n    \"" + addr.String() + "\": 1000000000000\n  max_block_txs: 5000\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(home, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParamsFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const golden = "e455ea7770b9838d49b57351f857ebd197786b3b3401ae38e5a9fa10f39d316a"
	if got := p.GenesisHash().String(); got != golden || p.Adjusting() {
		t.Fatalf("genesis %s (adjusting %v), want the golden %s", got, p.Adjusting(), golden)
	}
	// The same section with target_block_time set is another chain.
	if err := os.WriteFile(file, []byte(yaml+"  target_block_time: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = config.Load(home, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParamsFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !q.Adjusting() || q.HalfLifeMs != 3_600_000 || q.GenesisHash().String() == golden {
		t.Fatalf("adjusting section: %+v %s", q, q.GenesisHash())
	}
}
