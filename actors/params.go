package actors

import (
	"fmt"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
)

// ParamsFromConfig turns the config's chain section into chain parameters.
func ParamsFromConfig(cfg *config.Config) (*chainstate.Params, error) {
	c := cfg.Chain
	p := &chainstate.Params{
		ChainID:       c.ID,
		GenesisTimeMs: uint64(c.GenesisTime.UnixMilli()),
		PowBits:       uint32(c.PowBits),
		BlockReward:   c.BlockReward,
		Alloc:         make(map[chainstate.Address]uint64, len(c.Alloc)),
		MaxBlockTxs:   c.MaxBlockTxs,
	}
	if c.TargetBlockTime > 0 {
		// A fixed chain's half-life is not part of it (nor of its genesis hash).
		p.TargetBlockTimeMs = uint64(c.TargetBlockTime.Milliseconds())
		p.HalfLifeMs = uint64(c.DifficultyHalfLife.Milliseconds())
	}
	for _, v := range c.Validators {
		k, err := chainstate.ParsePublicKey(v)
		if err != nil {
			return nil, &config.Error{Key: "chain.validators", Problem: err.Error()}
		}
		p.Validators = append(p.Validators, k)
	}
	for a, bal := range c.Alloc {
		addr, err := chainstate.ParseAddress(a)
		if err != nil {
			return nil, &config.Error{Key: "chain.alloc", Problem: fmt.Sprintf("%s: %v", a, err)}
		}
		p.Alloc[addr] = bal
	}
	return p, nil
}
