package main

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/config"
)

// TestDevnetConfig: node0 funds every wallet and takes --pow-bits when given; the others copy
// node0's chain; every node gets its ports, the other nodes as seeds, one mining worker and the
// run's fault injection and supervision.
func TestDevnetConfig(t *testing.T) {
	res := []*actors.InitResult{{WalletAddress: "w0"}, {WalletAddress: "w1"}, {WalletAddress: "w2"}}
	seeds := []string{"a@0", "b@1", "c@2"}
	node0Chain := config.Chain{ID: "devnet-x", PowBits: 9, Alloc: map[string]uint64{"w0": 1}}
	sup := &config.Supervision{MaxRestarts: 3, Window: time.Minute}
	tests := []struct {
		name      string
		o         devnetOptions
		k         int
		powBits   int // want; 0: as loaded
		chainID   string
		alloc     []string
		wantSeeds []string
		p2p, api  string
	}{
		{"node0, default pow bits", devnetOptions{basePort: 7000}, 0, 0, "loaded", []string{"w0", "w1", "w2"}, []string{"b@1", "c@2"}, "127.0.0.1:7000", "127.0.0.1:7001"},
		{"node0, --pow-bits", devnetOptions{basePort: 7000, powSet: true, powBits: 5}, 0, 5, "loaded", []string{"w0", "w1", "w2"}, []string{"b@1", "c@2"}, "127.0.0.1:7000", "127.0.0.1:7001"},
		{"node1 copies node0's chain", devnetOptions{basePort: 7000, powSet: true, powBits: 5}, 1, 9, "devnet-x", []string{"w0"}, []string{"a@0", "c@2"}, "127.0.0.1:7002", "127.0.0.1:7003"},
		{"node2 on its host, chaos settings", devnetOptions{basePort: 7000, hosts: []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}, faultInjection: true, supervision: sup}, 2, 9, "devnet-x", []string{"w0"}, []string{"a@0", "b@1"}, "10.0.0.3:7004", "10.0.0.3:7005"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Chain.ID = "loaded"
			loadedBits := cfg.Chain.PowBits
			tc.o.devnetConfig(cfg, tc.k, res, seeds, node0Chain)
			want := tc.powBits
			if want == 0 {
				want = loadedBits
			}
			if cfg.Chain.PowBits != want || cfg.Chain.ID != tc.chainID {
				t.Errorf("chain %s pow_bits %d, want %s %d", cfg.Chain.ID, cfg.Chain.PowBits, tc.chainID, want)
			}
			if got := slices.Sorted(maps.Keys(cfg.Chain.Alloc)); !slices.Equal(got, tc.alloc) {
				t.Errorf("alloc %v, want %v", got, tc.alloc)
			}
			if tc.k == 0 && cfg.Chain.Alloc["w1"] != actors.DevnetFunds {
				t.Errorf("node0 funds w1 with %d, want %d", cfg.Chain.Alloc["w1"], actors.DevnetFunds)
			}
			if !slices.Equal(cfg.P2P.Seeds, tc.wantSeeds) || cfg.P2P.Listen != tc.p2p || cfg.API.Listen != tc.api {
				t.Errorf("seeds %v p2p %s api %s, want %v %s %s", cfg.P2P.Seeds, cfg.P2P.Listen, cfg.API.Listen, tc.wantSeeds, tc.p2p, tc.api)
			}
			if cfg.Mining.Workers != 1 || cfg.Debug.FaultInjection != tc.o.faultInjection {
				t.Errorf("workers %d fault injection %v", cfg.Mining.Workers, cfg.Debug.FaultInjection)
			}
			wantSup := config.Default().Supervision
			if tc.o.supervision != nil {
				wantSup = *tc.o.supervision
			}
			if cfg.Supervision != wantSup {
				t.Errorf("supervision %+v, want %+v", cfg.Supervision, wantSup)
			}
		})
	}
}
