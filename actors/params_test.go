package actors

import (
	"testing"
	"time"

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
