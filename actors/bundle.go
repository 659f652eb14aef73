package actors

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/noisep2p"
)

// ErrWrongChain is returned when a peer bundle belongs to another chain.
var ErrWrongChain = errors.New("peer bundle of another chain")

// maxBundlePeers bounds a bundle: a full book's export imports.
const maxBundlePeers = MaxBundlePeers

// MaxBundlePeers is the most peers a bundle holds: the address book's bound.
const MaxBundlePeers = maxBook

// MaxBundleBytes is the largest peer bundle body the API reads: maxBundlePeers peers of up to
// maxBundlePeerBytes each (a 64-hex id, an address of up to 255 characters, escaped, a time,
// indentation) and room for the header. A full book's export is far smaller.
const (
	maxBundlePeerBytes = 1024
	MaxBundleBytes     = maxBundlePeers*maxBundlePeerBytes + 64<<10
)

// Bundle is the peer bundle of CONTRACT §5: what `node peers export` writes and `import` reads.
type Bundle struct {
	Version     int          `json:"version"`
	ChainID     string       `json:"chain_id"`
	GenesisHash string       `json:"genesis_hash"`
	ExportedAt  time.Time    `json:"exported_at"`
	Peers       []BundlePeer `json:"peers"`
}

// BundlePeer is one peer of a bundle.
type BundlePeer struct {
	ID       string    `json:"id"`
	Addr     string    `json:"addr"`
	LastSeen time.Time `json:"last_seen"`
}

// NewBundle makes the bundle of chain p holding recs.
func NewBundle(p *chainstate.Params, recs []chainstate.PeerRecord, now time.Time) *Bundle {
	b := &Bundle{Version: 1, ChainID: p.ChainID, GenesisHash: p.GenesisHash().String(), ExportedAt: now.UTC().Truncate(time.Second), Peers: []BundlePeer{}}
	for _, r := range recs {
		if r.Addr == "" || r.Addr == "-" {
			continue
		}
		b.Peers = append(b.Peers, BundlePeer{ID: noisep2p.ID(r.ID).String(), Addr: r.Addr, LastSeen: time.UnixMilli(r.LastSeen).UTC().Truncate(time.Second)})
	}
	return b
}

// ParseBundle decodes a bundle strictly (unknown fields and trailing data are errors). Errors
// name the field (peers[3].addr) and say what it must hold (bundle_parse.go).
func ParseBundle(data []byte) (*Bundle, error) {
	b, err := parseBundle(data)
	if err != nil {
		return nil, fmt.Errorf("peer bundle: %w", err)
	}
	return b, nil
}

// Records checks the bundle against chain p and returns its peers as address-book records.
func (b *Bundle) Records(p *chainstate.Params) ([]chainstate.PeerRecord, error) {
	if b.Version != 1 {
		return nil, fmt.Errorf("peer bundle: version %d is not supported (want 1)", b.Version)
	}
	if g := p.GenesisHash().String(); b.ChainID != p.ChainID || b.GenesisHash != g {
		return nil, fmt.Errorf("%w: the bundle is for chain %q (genesis %s), this node is on chain %q (genesis %s)",
			ErrWrongChain, b.ChainID, b.GenesisHash, p.ChainID, g)
	}
	if len(b.Peers) > maxBundlePeers {
		return nil, fmt.Errorf("peer bundle: %d peers, at most %d", len(b.Peers), maxBundlePeers)
	}
	out := make([]chainstate.PeerRecord, 0, len(b.Peers))
	for i, bp := range b.Peers {
		id, err := noisep2p.ParseID(bp.ID)
		if err != nil {
			return nil, fmt.Errorf("peer bundle: peers[%d].id: want the node id, 64 hex characters, got %q", i, clipString(bp.ID))
		}
		if err := checkHostPort(bp.Addr); err != nil {
			return nil, fmt.Errorf("peer bundle: peers[%d].addr: %v", i, err)
		}
		seen := int64(0)
		if !bp.LastSeen.IsZero() {
			seen = bp.LastSeen.UnixMilli()
		}
		out = append(out, chainstate.PeerRecord{ID: id, Addr: bp.Addr, LastSeen: seen})
	}
	return out, nil
}

// checkHostPort checks a peer's address: a host name or IP address, a colon, a port from 1 to
// 65535 (an IPv6 address in brackets), 255 bytes at most.
func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	n, perr := strconv.Atoi(port)
	if err != nil || host == "" || perr != nil || n < 1 || n > 65535 || len(s) > 255 {
		return fmt.Errorf("want HOST:PORT (a host name or IP address, a colon and a port from 1 to 65535), got %q", clipString(s))
	}
	return nil
}

// ErrHomeInUse is returned by the offline peer-store functions when a node runs on the home.
var ErrHomeInUse = errors.New("a node is running on this home")

// ExportStore reads the peer bundle from a stopped home's store. A home that never ran (no
// database yet) gives an empty bundle of its chain. ErrHomeInUse when a node holds the database.
func ExportStore(cfg *config.Config) (*Bundle, error) {
	p, err := ParamsFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg.Storage.Path); errors.Is(err, os.ErrNotExist) {
		return NewBundle(p, nil, time.Now()), nil
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
	return NewBundle(p, recs, time.Now()), nil
}

// ImportStore merges a bundle into a stopped home's store (ErrHomeInUse when a node runs) and
// returns how many peers were new.
func ImportStore(cfg *config.Config, b *Bundle) (int, error) {
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
			r.Source = srcImport // the book's import group when the node loads it
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
