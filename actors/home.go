package actors

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
)

// InitResult is what `node init` prints.
type InitResult struct {
	Home          string `json:"home"`
	NodeID        string `json:"node_id"`
	GenesisHash   string `json:"genesis_hash"`
	WalletAddress string `json:"wallet_address"`
	MinerAddress  string `json:"miner_address"`
}

// DevnetFunds is what a fresh devnet's genesis gives the wallet key (CONTRACT §1).
const DevnetFunds = 1_000_000_000_000

// InitHome writes node.yaml and the three keys. Without chainFile the chain is a fresh devnet whose
// genesis funds the wallet key, with the defaults of the chain section (fixed difficulty).
func InitHome(home, cfgFile, chainFile string, force bool) (*InitResult, error) {
	return InitHomeChain(home, cfgFile, chainFile, force, nil)
}

// InitHomeChain is InitHome where fresh, when not nil, sets up a fresh chain's section (not one
// copied from chainFile) before it is written: `node init` and `node devnet` give new chains a
// target block time and a measured genesis difficulty (CONTRACT §10).
func InitHomeChain(home, cfgFile, chainFile string, force bool, fresh func(*config.Chain)) (*InitResult, error) {
	if _, err := os.Stat(cfgFile); err == nil && !force {
		return nil, fmt.Errorf("%s already exists: HOME %s is initialised (use --force to overwrite)", cfgFile, home)
	}
	cfg := config.Default()
	cfg.Home = home
	keys := map[string]string{
		filepath.Join(home, "keys", "node.key"):   "x25519",
		filepath.Join(home, "keys", "miner.key"):  "ed25519",
		filepath.Join(home, "keys", "wallet.key"): "ed25519",
	}
	for path, typ := range keys {
		if force {
			_ = os.Remove(path)
		}
		if err := chainstate.GenerateKeyFile(path, typ); err != nil {
			return nil, err
		}
	}
	_, wallet, _, err := chainstate.KeyInfo(filepath.Join(home, "keys", "wallet.key"))
	if err != nil {
		return nil, err
	}
	_, minerAddr, _, err := chainstate.KeyInfo(filepath.Join(home, "keys", "miner.key"))
	if err != nil {
		return nil, err
	}
	nodeID, _, _, err := chainstate.KeyInfo(filepath.Join(home, "keys", "node.key"))
	if err != nil {
		return nil, err
	}
	if chainFile != "" {
		ch, err := config.LoadChain(chainFile)
		if err != nil {
			return nil, err
		}
		cfg.Chain = ch
	} else {
		cfg.Chain.Alloc = map[string]uint64{wallet: DevnetFunds}
		if fresh != nil {
			fresh(&cfg.Chain)
		}
	}
	if err := config.Write(cfgFile, cfg); err != nil {
		return nil, err
	}
	// The genesis of the effective configuration (file plus environment), as `run` will use it.
	eff, err := config.Load(home, cfgFile, os.Environ())
	if err != nil {
		return nil, err
	}
	params, err := ParamsFromConfig(eff)
	if err != nil {
		return nil, err
	}
	return &InitResult{
		Home: home, NodeID: nodeID, GenesisHash: params.GenesisHash().String(),
		WalletAddress: wallet, MinerAddress: minerAddr,
	}, nil
}
