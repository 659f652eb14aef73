package api

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/errcode"
	"github.com/actorchain/actorchain/noisep2p"
)

// ErrWrongChain is returned when a peer bundle belongs to another chain (400 wrong_chain).
var ErrWrongChain = errcode.New(errcode.WrongChain, "peer bundle of another chain")

// maxBundlePeers bounds a bundle: a full book's export imports.
const maxBundlePeers = MaxBundlePeers

// MaxBundlePeers is the most peers a bundle holds: the node's address-book bound (actors checks
// that the two agree when it compiles).
const MaxBundlePeers = 10240

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

// malformedBundle is a refused bundle's error: 400 malformed, its message starting "peer
// bundle: ".
func malformedBundle(format string, args ...any) error {
	return errcode.New(errcode.Malformed, "peer bundle: "+fmt.Sprintf(format, args...))
}

// Records checks the bundle against chain p and returns its peers as address-book records. A
// bundle of another chain is ErrWrongChain, a bad one malformed (both *errcode.Error).
func (b *Bundle) Records(p *chainstate.Params) ([]chainstate.PeerRecord, error) {
	if b.Version != 1 {
		return nil, malformedBundle("version %d is not supported (want 1)", b.Version)
	}
	if g := p.GenesisHash().String(); b.ChainID != p.ChainID || b.GenesisHash != g {
		return nil, fmt.Errorf("%w: the bundle is for chain %q (genesis %s), this node is on chain %q (genesis %s)",
			ErrWrongChain, b.ChainID, b.GenesisHash, p.ChainID, g)
	}
	if len(b.Peers) > maxBundlePeers {
		return nil, malformedBundle("%d peers, at most %d", len(b.Peers), maxBundlePeers)
	}
	out := make([]chainstate.PeerRecord, 0, len(b.Peers))
	for i, bp := range b.Peers {
		id, err := noisep2p.ParseID(bp.ID)
		if err != nil {
			return nil, malformedBundle("peers[%d].id: want the node id, 64 hex characters, got %q", i, clip(bp.ID))
		}
		if err := checkHostPort(bp.Addr); err != nil {
			return nil, malformedBundle("peers[%d].addr: %v", i, err)
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
		return fmt.Errorf("want HOST:PORT (a host name or IP address, a colon and a port from 1 to 65535), got %q", clip(s))
	}
	return nil
}
