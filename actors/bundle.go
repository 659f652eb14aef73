package actors

import (
	"errors"
	"fmt"
	"github.com/actorchain/actorchain/addrbook"
	"os"
	"time"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
)

// MaxBundlePeers is api.MaxBundlePeers, which must be the address book's bound: this fails to
// compile when they differ.
const _ = uint(api.MaxBundlePeers-addrbook.MaxBook) + uint(addrbook.MaxBook-api.MaxBundlePeers)

// ParseBundle decodes a bundle strictly (unknown fields and trailing data are errors). Errors
// name the field (peers[3].addr) and say what it must hold (bundle_parse.go).
func ParseBundle(data []byte) (*api.Bundle, error) {
	b, err := parseBundle(data)
	if err != nil {
		return nil, fmt.Errorf("peer bundle: %w", err)
	}
	return b, nil
}

// ErrHomeInUse is returned by the offline peer-store functions when a node runs on the home.
var ErrHomeInUse = errors.New("a node is running on this home")

// ExportStore reads the peer bundle from a stopped home's store. A home that never ran (no
// database yet) gives an empty bundle of its chain. ErrHomeInUse when a node holds the database.
func ExportStore(cfg *config.Config) (*api.Bundle, error) {
	p, err := ParamsFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg.Storage.Path); errors.Is(err, os.ErrNotExist) {
		return api.NewBundle(p, nil, time.Now()), nil
	}
	s, err := openOffline(cfg, p)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	recs, err := s.Peers()
	if err != nil {
		return nil, err
	}
	return api.NewBundle(p, recs, time.Now()), nil
}

// ImportStore merges a bundle into a stopped home's store (ErrHomeInUse when a node runs) and
// returns how many peers were new.
func ImportStore(cfg *config.Config, b *api.Bundle) (int, error) {
	p, err := ParamsFromConfig(cfg)
	if err != nil {
		return 0, err
	}
	recs, err := b.Records(p)
	if err != nil {
		return 0, err
	}
	s, err := openOffline(cfg, p)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	old, err := s.Peers()
	if err != nil {
		return 0, err
	}
	known := map[[32]byte]bool{}
	for _, r := range old {
		known[r.ID] = true
	}
	var put []chainstate.PeerRecord
	for _, r := range recs {
		if !known[r.ID] {
			r.Source = addrbook.SourceImport // the book's import group when the node loads it
			put = append(put, r)
			known[r.ID] = true
		}
	}
	return len(put), s.PutPeers(put, nil)
}

// HomeRunning reports whether a node holds the home's database, from the database's own lock
// (never by probing a port).
func HomeRunning(cfg *config.Config) (bool, error) {
	if _, err := os.Stat(cfg.Storage.Path); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	p, err := ParamsFromConfig(cfg)
	if err != nil {
		return false, err
	}
	s, err := openOffline(cfg, p)
	if errors.Is(err, ErrHomeInUse) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return false, s.Close()
}

func openOffline(cfg *config.Config, p *chainstate.Params) (*chainstate.Store, error) {
	s, err := chainstate.Open(cfg.Storage.Path, p, 200*time.Millisecond)
	if errors.Is(err, chainstate.ErrInUse) {
		return nil, fmt.Errorf("%w (%v)", ErrHomeInUse, err)
	}
	return s, err
}
