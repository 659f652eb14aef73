package chainstate

import (
	"encoding/binary"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// PeerRecord is one address-book entry: a peer's node id (its static X25519 public key), the
// address it is dialled at, and what the node learnt about it. Times are Unix milliseconds.
type PeerRecord struct {
	ID          [32]byte
	Addr        string // HOST:PORT
	LastSeen    int64  // last successful connection (0: never)
	Failures    uint32 // consecutive failed dials
	BannedUntil int64  // discouraged until then (0: not banned)
	// Tried is set once the node has connected to the peer (the address book's tried table);
	// Source names the network group the address was learned from (the new table's buckets).
	Tried  bool
	Source string
}

// maxPeerAddr bounds a stored address; maxPeerSource a stored source group.
const (
	maxPeerAddr   = 255
	maxPeerSource = 255
)

// peerTried is the flags byte's tried bit.
const peerTried = 1

func encodePeer(p *PeerRecord) []byte {
	src := p.Source[:min(len(p.Source), maxPeerSource)] // PutPeers refuses longer ones
	b := make([]byte, 0, 2+len(p.Addr)+8+4+8+2+len(src))
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.Addr)))
	b = append(b, p.Addr...)
	b = binary.BigEndian.AppendUint64(b, uint64(p.LastSeen))
	b = binary.BigEndian.AppendUint32(b, p.Failures)
	b = binary.BigEndian.AppendUint64(b, uint64(p.BannedUntil))
	// Since the bucketed book: a flags byte and the source group. Records without them (written
	// before) decode as new entries of no source.
	flags := byte(0)
	if p.Tried {
		flags |= peerTried
	}
	b = append(b, flags, byte(len(src)))
	b = append(b, src...)
	return b
}

func decodePeer(id, v []byte) (PeerRecord, error) {
	var p PeerRecord
	if len(id) != 32 || len(v) < 2 {
		return p, fmt.Errorf("peer record: bad key or value length: %w", ErrCorrupt)
	}
	copy(p.ID[:], id)
	n := int(binary.BigEndian.Uint16(v))
	if n > maxPeerAddr || len(v) < 2+n+20 {
		return p, fmt.Errorf("peer record %x: bad length: %w", id, ErrCorrupt)
	}
	p.Addr = string(v[2 : 2+n])
	v = v[2+n:]
	p.LastSeen = int64(binary.BigEndian.Uint64(v))
	p.Failures = binary.BigEndian.Uint32(v[8:])
	p.BannedUntil = int64(binary.BigEndian.Uint64(v[12:]))
	v = v[20:]
	switch {
	case len(v) == 0: // a record from before the bucketed book
	case len(v) >= 2 && len(v) == 2+int(v[1]) && v[0]&^peerTried == 0:
		p.Tried = v[0]&peerTried != 0
		p.Source = string(v[2:])
	default:
		return p, fmt.Errorf("peer record %x: bad length or flags: %w", id, ErrCorrupt)
	}
	return p, nil
}

// Peers returns every address-book entry, ordered by id.
func (s *Store) Peers() ([]PeerRecord, error) {
	var out []PeerRecord
	err := s.boltView("read peers", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPeers)
		if b == nil {
			return fmt.Errorf("bucket peers missing: %w", ErrCorrupt)
		}
		return b.ForEach(func(k, v []byte) error {
			p, err := decodePeer(k, v)
			if err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	if err != nil {
		return nil, s.wrapErr("read peers", err)
	}
	sort.Slice(out, func(i, j int) bool { return string(out[i].ID[:]) < string(out[j].ID[:]) })
	return out, nil
}

// PutPeers inserts or replaces address-book entries and deletes those in remove, in one
// transaction.
func (s *Store) PutPeers(put []PeerRecord, remove [][32]byte) error {
	for i := range put {
		if len(put[i].Addr) == 0 || len(put[i].Addr) > maxPeerAddr {
			return fmt.Errorf("put peers: address of %x: length %d not in 1..%d", put[i].ID, len(put[i].Addr), maxPeerAddr)
		}
		if len(put[i].Source) > maxPeerSource {
			return fmt.Errorf("put peers: source of %x: length %d over %d", put[i].ID, len(put[i].Source), maxPeerSource)
		}
	}
	return s.wrapErr("put peers", s.boltUpdate("put peers", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPeers)
		if b == nil {
			return fmt.Errorf("bucket peers missing: %w", ErrCorrupt)
		}
		for i := range put {
			if err := b.Put(clone(put[i].ID[:]), encodePeer(&put[i])); err != nil {
				return err
			}
		}
		for _, id := range remove {
			if err := b.Delete(id[:]); err != nil {
				return err
			}
		}
		return s.commitCheck()
	}))
}
