package chainstate

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SalvageReport is what Salvage did (`node db salvage`).
type SalvageReport struct {
	MovedAside       string `json:"moved_aside"`       // absolute path of the old file, unchanged
	Height           uint64 `json:"height"`            // of the new database's tip
	BlocksRecovered  uint64 `json:"blocks_recovered"`  // main-chain blocks after genesis re-connected
	PeersRecovered   int    `json:"peers_recovered"`   // address-book entries kept
	MempoolRecovered int    `json:"mempool_recovered"` // mempool transactions that still validate
	StoppedAt        string `json:"stopped_at"`        // why the block prefix ends ("" at the old tip)
}

// salvageBatch is the number of heights read per read transaction of the damaged file.
const salvageBatch = 256

// Salvage recovers what is readable of the database at path (the node stopped: ErrInUse
// otherwise) into a new database: the longest readable prefix of the main chain, each block
// re-validated (CheckBlock, CheckHeaderContext) and re-executed from genesis by Store.Connect,
// the readable address book, and the mempool transactions that still validate on the new tip.
// The new database is written next to the old one (PATH.salvage), then the old file, bytes
// unchanged, gets the name PATH.damaged-<now in unix seconds> (a hard link; a rename where links
// are not supported) and the new one is renamed over PATH, so that PATH always holds a database. A file of
// another chain (ErrWrongChain) or a newer schema is refused and left where it is. The damaged
// file is only read, with every read guarded (an unreadable page ends what it was reading).
func Salvage(path string, p *Params, timeout time.Duration, now time.Time) (*SalvageReport, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("salvage %s: chain parameters: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("salvage %s: %w", path, err)
	}
	exists, err := preflight(abs, timeout)
	var de *DamageError
	if err != nil && !errors.As(err, &de) {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("salvage %s: %w", abs, os.ErrNotExist)
	}
	aside := fmt.Sprintf("%s.damaged-%d", abs, now.Unix())
	if _, err := os.Lstat(aside); err == nil {
		return nil, fmt.Errorf("salvage %s: %s already exists", abs, aside)
	}
	tmp := abs + ".salvage"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("salvage %s: remove stale %s: %w", abs, tmp, err)
	}
	dst, err := Open(tmp, p, timeout)
	if err != nil {
		return nil, fmt.Errorf("salvage %s: create %s: %w", abs, tmp, err)
	}
	rep := &SalvageReport{MovedAside: aside}
	err = salvageInto(abs, p, timeout, dst, rep)
	if err = errors.Join(err, dst.Close()); err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("salvage %s: %w", abs, err)
	}
	// The damaged file gets its second name first, then the new database replaces it in one
	// rename: at every moment there is a database at abs (never a missing file, which would start
	// a new chain), and the damaged bytes are never copied or changed.
	if err := os.Link(abs, aside); err != nil {
		if err := os.Rename(abs, aside); err != nil {
			_ = os.Remove(tmp)
			return nil, fmt.Errorf("salvage %s: move aside: %w", abs, err)
		}
	}
	if err := os.Rename(tmp, abs); err != nil {
		return nil, fmt.Errorf("salvage %s: the damaged file is at %s; put the new database in place: %w", abs, aside, err)
	}
	if err := syncDir(filepath.Dir(abs)); err != nil {
		return nil, fmt.Errorf("salvage %s: %w", abs, err)
	}
	return rep, nil
}

// salvageInto copies what is readable of the file at abs into dst.
func salvageInto(abs string, p *Params, timeout time.Duration, dst *Store, rep *SalvageReport) error {
	f, err := os.Open(abs)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err == nil {
		// Without a valid meta page bbolt cannot find anything: only genesis is left.
		if m, problem := checkLayout(st.Size(), f); m.PageSize == 0 {
			rep.StoppedAt = problem
			return f.Close()
		}
	}
	if err := errors.Join(err, f.Close()); err != nil {
		return err
	}
	src, err := openBolt(abs, true, timeout)
	if err != nil {
		rep.StoppedAt = err.Error()
		return nil
	}
	defer src.Close()
	view := func(op string, fn func(r *readTx) error) error {
		return guarded(abs, op, func() error {
			return src.View(func(tx *bolt.Tx) error { return fn(newReadTx(tx)) })
		})
	}
	// A file of another chain is not salvaged into this one.
	err = view("genesis", func(r *readTx) error {
		if r.meta == nil {
			return nil
		}
		if g, ok := hashFrom(r.meta.Get(metaGenesis)); ok && g != p.GenesisHash() {
			return fmt.Errorf("the database's genesis hash %s differs from the configured chain's genesis hash %s: %w", g, p.GenesisHash(), ErrWrongChain)
		}
		if sv := r.meta.Get(metaSchema); len(sv) == 4 && be.Uint32(sv) > SchemaVersion {
			return fmt.Errorf("database schema version %d is newer than the supported version %d: %w", be.Uint32(sv), SchemaVersion, ErrSchema)
		}
		return nil
	})
	if errors.Is(err, ErrWrongChain) || errors.Is(err, ErrSchema) {
		return err
	}
	rep.StoppedAt = salvageBlocks(p, view, dst, rep)
	rep.PeersRecovered = salvagePeers(view, dst)
	rep.MempoolRecovered = salvageMempool(p, view, dst)
	return nil
}

type salvageView func(op string, fn func(r *readTx) error) error

// salvageBlocks connects the readable, valid prefix of the old main chain to dst and returns why
// it ends ("" when it reached the old tip). Heights are looked up in the main bucket; when that
// is unreadable, the chain goes on through the index (the main-status child of the previous
// block), so that a damaged main-chain page alone costs nothing. The prefix ends at the first
// block whose body cannot be read or does not validate.
func salvageBlocks(p *Params, view salvageView, dst *Store, rep *SalvageReport) string {
	prev := p.Genesis().Header
	prevHash := prev.Hash()
	cache := NewSigCache(4096)
	var children map[Hash]Hash // parent → main-chain child, once the main bucket failed
	for height := uint64(1); ; {
		batch := readSalvageBatch(view, height, prevHash, children)
		for _, b := range batch.blocks {
			if e := connectSalvaged(p, dst, &prev, b, cache); e != "" {
				return e
			}
			prevHash = b.Hash()
			rep.Height = b.Header.Height
			rep.BlocksRecovered++
		}
		height += uint64(len(batch.blocks))
		err := batch.err
		switch {
		case err != nil && !errors.Is(err, errStop) && batch.stage == "main" && children == nil:
			// The main bucket is unreadable here: go on through the index.
			children = mainChildren(view)
		case err != nil && !errors.Is(err, errStop):
			return fmt.Sprintf("height %d: %v", height, err)
		case err != nil:
			return batch.why
		}
	}
}

// salvageRead is what readSalvageBatch read: the blocks, and why it stopped (err; errStop
// when the chain ends or breaks, with why saying how when it breaks) at which stage of a
// height ("main": finding the block's hash, "block": reading it).
type salvageRead struct {
	blocks []*Block
	stage  string
	why    string
	err    error
}

// readSalvageBatch reads up to salvageBatch main-chain blocks from height on, the first a child
// of at, in one read transaction. It finds each height's hash in the main bucket, or through
// children when that is set.
func readSalvageBatch(view salvageView, height uint64, at Hash, children map[Hash]Hash) salvageRead {
	var sb salvageRead
	sb.err = view("main chain", func(r *readTx) error {
		for h := height; h < height+salvageBatch; h++ {
			sb.stage = "main"
			hash, ok, err := salvageHash(r, h, at, children)
			if err != nil {
				return err
			}
			if !ok {
				return errStop
			}
			sb.stage = "block"
			b, ok, err := r.block(hash)
			if err != nil {
				return err
			}
			if !ok || b.Hash() != hash || b.Header.PrevHash != at {
				sb.why = fmt.Sprintf("height %d: block %s missing, not hashing to it or not on the chain", h, hash)
				return errStop
			}
			sb.blocks = append(sb.blocks, b)
			at = hash
		}
		return nil
	})
	return sb
}

// salvageHash is the hash of the main-chain block at height h, whose parent is at: from the main
// bucket, or from children when that is set.
func salvageHash(r *readTx, h uint64, at Hash, children map[Hash]Hash) (Hash, bool, error) {
	if children != nil {
		hash, ok := children[at]
		return hash, ok, nil
	}
	return r.mainHash(h)
}

// mainChildren maps each main-chain block's parent to it, from the readable index entries.
func mainChildren(view salvageView) map[Hash]Hash {
	children := map[Hash]Hash{}
	_ = view("index", func(r *readTx) error {
		return r.index.ForEach(func(k, v []byte) error {
			if h, ok := hashFrom(k); ok {
				if e, err := decodeEntry(h, v); err == nil && e.Status == StatusMain {
					children[e.Header.PrevHash] = h
				}
			}
			return nil
		})
	})
	return children
}

var errStop = errors.New("stop")

func connectSalvaged(p *Params, dst *Store, prev *Header, b *Block, cache *SigCache) string {
	h := b.Hash()
	if err := CheckBlock(p, b, cache); err != nil {
		return fmt.Sprintf("height %d: block %s: %v", b.Header.Height, h, err)
	}
	if err := CheckHeaderContext(p, &b.Header, prev, dst.MainAncestors(), math.MaxUint64); err != nil {
		return fmt.Sprintf("height %d: block %s: %v", b.Header.Height, h, err)
	}
	if _, err := dst.Connect(b); err != nil {
		return fmt.Sprintf("height %d: block %s: %v", b.Header.Height, h, err)
	}
	*prev = b.Header
	return ""
}

// salvagePeers copies the readable address-book entries (those read before an unreadable page).
func salvagePeers(view salvageView, dst *Store) int {
	var peers []PeerRecord
	_ = view("peers", func(r *readTx) error {
		b := r.tx.Bucket(bucketPeers)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if pr, err := decodePeer(k, v); err == nil && len(pr.Addr) > 0 {
				peers = append(peers, pr)
			}
			return nil
		})
	})
	if len(peers) == 0 || dst.PutPeers(peers, nil) != nil {
		return 0
	}
	return len(peers)
}

// salvageMempool keeps the readable mempool transactions that still validate on dst's tip, in
// nonce order per sender.
func salvageMempool(p *Params, view salvageView, dst *Store) int {
	var txs []*Tx
	_ = view("mempool", func(r *readTx) error {
		if r.mempool == nil {
			return nil
		}
		return r.mempool.ForEach(func(k, v []byte) error {
			if tx, err := DecodeTx(v); err == nil {
				if h := tx.Hash(); bytes.Equal(h[:], k) {
					txs = append(txs, tx)
				}
			}
			return nil
		})
	})
	slices.SortFunc(txs, func(a, b *Tx) int {
		if c := bytes.Compare(a.From[:], b.From[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.Nonce, b.Nonce)
	})
	var keep []*Tx
	err := dst.View(func(r AccountReader) error {
		o := newOverlay(r, len(txs))
		for _, tx := range txs {
			if CheckTx(p, tx, nil) == nil && o.applyTx(tx) == nil {
				keep = append(keep, tx)
			}
		}
		return nil
	})
	if err != nil || len(keep) == 0 || dst.PutMempool(keep, nil) != nil {
		return 0
	}
	return len(keep)
}
