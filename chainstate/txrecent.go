package chainstate

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A txrecent record longer than one piece is stored in pieces (schema 5), as block bodies are
// (body.go) and for the same reason: three 36 KiB records of 1,000 transfers shared a leaf, and
// appending one rewrote the two before it. The first piece (the block hash and up to
// recentFirstEntries entries) stays under the height, the next ones (up to recentPieceEntries
// whole entries each) under height ‖ u32 1, 2, ...: every piece is a sorted run of whole
// entries, searched on its own, and the pieces of a record follow one another in hash order. A
// record of one piece (every record of schema 4 and before, and every small one) is stored and
// read as before.
const (
	// recentPieceEntries: a piece of recentEntrySize-byte entries within bodyPiece bytes.
	recentPieceEntries = bodyPiece / recentEntrySize
	// recentFirstEntries: the first piece also holds the block hash.
	recentFirstEntries = (bodyPiece - 32) / recentEntrySize
)

// recentPieceKey is the key of piece i (i >= 1) of the record of height.
func recentPieceKey(height uint64, i uint32) []byte {
	return be.AppendUint32(heightKey(height), i)
}

// putRecent stores the txrecent record rec (encodeRecent) of height: in pieces of at most
// perPiece entries (recentPieceEntries outside tests), the first also holding the block hash.
func putRecent(b *bolt.Bucket, height uint64, rec []byte, perPiece int) error {
	first := min(len(rec), 32+recentEntrySize*max(1, min(perPiece, recentFirstEntries)))
	if err := b.Put(heightKey(height), rec[:first]); err != nil {
		return err
	}
	size := recentEntrySize * max(1, min(perPiece, recentPieceEntries))
	for i, rest := uint32(1), rec[first:]; len(rest) > 0; i++ {
		n := min(len(rest), size)
		if err := b.Put(recentPieceKey(height, i), rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

// recentPiece is one key and value of txrecent, read as a piece of a record.
type recentPiece struct {
	height  uint64
	piece   uint32 // 0: the first, which holds the block hash
	block   []byte // the block hash (first piece only)
	entries []byte // whole entries, sorted by hash
}

// readRecentPiece splits a txrecent key and value into a piece, checking its shape: a height or
// height ‖ piece key, whole entries in strictly increasing hash order after the block hash of the
// first piece.
func readRecentPiece(k, v []byte) (recentPiece, error) {
	var p recentPiece
	switch len(k) {
	case 8:
		p.height = be.Uint64(k)
		if len(v) < 32 {
			return p, fmt.Errorf("txrecent record %d: %d bytes: %w", p.height, len(v), ErrCorrupt)
		}
		p.block, p.entries = v[:32], v[32:]
	case 12:
		p.height, p.piece = be.Uint64(k), be.Uint32(k[8:])
		if p.piece == 0 || len(v) == 0 {
			return p, fmt.Errorf("txrecent record %d: piece %d of %d bytes: %w", p.height, p.piece, len(v), ErrCorrupt)
		}
		p.entries = v
	default:
		return p, fmt.Errorf("txrecent key of %d bytes: %w", len(k), ErrCorrupt)
	}
	if len(p.entries)%recentEntrySize != 0 {
		return p, fmt.Errorf("txrecent record %d: piece %d of %d bytes: %w", p.height, p.piece, len(v), ErrCorrupt)
	}
	if !entriesInOrder(p.entries, recentEntrySize) {
		return p, fmt.Errorf("txrecent record %d: entries out of order: %w", p.height, ErrCorrupt)
	}
	return p, nil
}

// recentWalk checks txrecent in key order, as a page walk reads it: each piece's shape, and that
// pieces follow their record's first piece in sequence and in hash order.
type recentWalk struct {
	open   bool
	height uint64
	piece  uint32
	last   []byte // the record's last entry hash so far (a copy)
}

func (w *recentWalk) add(k, v []byte) error {
	p, err := readRecentPiece(k, v)
	if err != nil {
		return err
	}
	if p.piece == 0 {
		w.open, w.height, w.piece = true, p.height, 0
	} else if !w.open || p.height != w.height || p.piece != w.piece+1 {
		return fmt.Errorf("txrecent record %d: piece %d out of sequence: %w", p.height, p.piece, ErrCorrupt)
	} else {
		w.piece = p.piece
		if len(w.last) > 0 && bytes.Compare(w.last, p.entries[:32]) >= 0 {
			return fmt.Errorf("txrecent record %d: piece %d out of hash order: %w", p.height, p.piece, ErrCorrupt)
		}
	}
	if len(p.entries) > 0 {
		w.last = append(w.last[:0], p.entries[len(p.entries)-recentEntrySize:][:32]...)
	} else {
		w.last = w.last[:0]
	}
	return nil
}

// findEntry looks h up among sorted recent entries and returns its index in its block.
func findEntry(entries []byte, h Hash) (index uint32, ok bool) {
	at := searchEntries(entries, recentEntrySize, h)
	if at < 0 {
		return 0, false
	}
	return be.Uint32(entries[at+32:]), true
}

// The tx index's sorted records (recent records and their pieces, runs' chunks) are arrays of
// fixed-size entries that begin with a transaction hash.

// entriesInOrder reports whether entries of size bytes each are in strictly increasing order
// of their hashes.
func entriesInOrder(entries []byte, size int) bool {
	for i := size; i < len(entries); i += size {
		if bytes.Compare(entries[i-size:i-size+32], entries[i:i+32]) >= 0 {
			return false
		}
	}
	return true
}

// searchEntries finds h among entries of size bytes each, sorted by hash, by binary search: the
// offset of its entry, or -1.
func searchEntries(entries []byte, size int, h Hash) int {
	lo, hi := 0, len(entries)/size
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		switch c := bytes.Compare(entries[mid*size:mid*size+32], h[:]); {
		case c == 0:
			return mid * size
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return -1
}

// recentLocation looks h up in the recent records, newest first, piece by piece.
func (r *readTx) recentLocation(h Hash) (TxLocation, bool, error) {
	c := r.txrecent.Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		p, err := readRecentPieceFast(k, v)
		if err != nil {
			return TxLocation{}, false, err
		}
		index, ok := findEntry(p.entries, h)
		if !ok {
			continue
		}
		l := TxLocation{Height: p.height, Index: int(index)}
		block := p.block
		if p.piece > 0 {
			if first := r.txrecent.Get(heightKey(p.height)); len(first) >= 32 {
				block = first[:32]
			} else {
				return TxLocation{}, false, fmt.Errorf("txrecent record %d: piece %d without its first piece: %w", p.height, p.piece, ErrCorrupt)
			}
		}
		copy(l.BlockHash[:], block)
		return l, true, nil
	}
	return TxLocation{}, false, nil
}

// readRecentPieceFast is readRecentPiece without the order check of every entry (a lookup's
// binary search needs only the shape; the walk and the merge check the order).
func readRecentPieceFast(k, v []byte) (recentPiece, error) {
	var p recentPiece
	switch {
	case len(k) == 8 && len(v) >= 32:
		p.height, p.block, p.entries = be.Uint64(k), v[:32], v[32:]
	case len(k) == 12 && be.Uint32(k[8:]) > 0:
		p.height, p.piece, p.entries = be.Uint64(k), be.Uint32(k[8:]), v
	default:
		return p, fmt.Errorf("txrecent key %x with a value of %d bytes: %w", k, len(v), ErrCorrupt)
	}
	if len(p.entries)%recentEntrySize != 0 {
		return p, fmt.Errorf("txrecent record %d: piece %d of %d bytes: %w", p.height, p.piece, len(v), ErrCorrupt)
	}
	return p, nil
}

// deleteRecent deletes the record of height, every piece of it.
func (w *writeTx) deleteRecent(height uint64) error {
	prefix := heightKey(height)
	var keys [][]byte
	c := w.txrecent.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, clone(k))
	}
	for _, k := range keys {
		if err := w.txrecent.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
