package chainstate

import (
	"bytes"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"
)

// A block body longer than bodyPiece bytes is stored in pieces (schema 4): the first bodyPiece
// bytes under the block's hash, the next under hash ‖ u32 1, hash ‖ u32 2, and so on, each
// piece bodyPiece bytes but the last. The pieces sort right after their hash and before any
// other block's, so one cursor reads a body in order.
//
// Why: bbolt never splits a leaf of four keys or fewer and gives every leaf at least two, so a
// bucket of whole 175 KiB bodies keeps two to four of them in each leaf, and storing a block
// rewrote the leaf it landed in, neighbours included: 130 to 175 pages for a block of 1,000
// transfers whose encoding takes 44. Two pieces of bodyPiece bytes with their keys and element
// headers fill a leaf of four 4 KiB pages exactly, so a body's leaves hold only its own pieces
// (and at most one neighbour's leaf is rewritten). A body of one piece (every body of schema 3
// and before, and every small one) is stored and read as before.
const bodyPiece = (4*4096-16)/2 - 16 - (len(Hash{}) + 4)

// bodyPieceKey is the key of piece i (i >= 1) of block h's body.
func bodyPieceKey(h Hash, i uint32) []byte {
	return be.AppendUint32(append(make([]byte, 0, len(h)+4), h[:]...), i)
}

// putBodyPieces stores enc, the encoding of block h, in b: in pieces when it is longer than
// bodyPiece.
func putBodyPieces(b *bolt.Bucket, h Hash, enc []byte) error {
	n := min(len(enc), bodyPiece)
	if err := b.Put(clone(h[:]), enc[:n]); err != nil {
		return err
	}
	for i := uint32(1); n < len(enc); i++ {
		if i == math.MaxUint32 {
			return fmt.Errorf("block %s: a body of %d bytes has too many pieces", h, len(enc))
		}
		m := min(len(enc)-n, bodyPiece)
		if err := b.Put(bodyPieceKey(h, i), enc[n:n+m]); err != nil {
			return err
		}
		n += m
	}
	return nil
}

// bodyOf reads the stored encoding of block h from b (ok false: not stored). A body of one
// piece is bbolt's own memory, valid until the transaction ends; a body of several is a new
// slice. A piece out of sequence, empty or a nested bucket is ErrCorrupt.
func bodyOf(b *bolt.Bucket, h Hash) (body []byte, ok bool, err error) {
	return readBody(b, h, false)
}

// ownBodyOf is bodyOf with a body the caller owns however it is stored: a body of one piece is
// copied out of bbolt's memory, one of several is the new slice bodyOf makes anyway (copying it
// again doubled RawBlock: 205-214 against 89-108 µs for a 1,000-transfer block here).
func ownBodyOf(b *bolt.Bucket, h Hash) (body []byte, ok bool, err error) {
	return readBody(b, h, true)
}

// readBody is bodyOf, and ownBodyOf when own is set.
func readBody(b *bolt.Bucket, h Hash, own bool) (body []byte, ok bool, err error) {
	c := b.Cursor()
	k, v := c.Seek(h[:])
	if !bytes.Equal(k, h[:]) {
		return nil, false, nil
	}
	if v == nil {
		return nil, false, fmt.Errorf("block %s: a bucket where its body belongs: %w", h, ErrCorrupt)
	}
	first, size, pieces := v, len(v), 0
	for k, v = c.Next(); isBodyPiece(k, h); k, v = c.Next() {
		pieces++
		if err := checkBodyPiece(h, k, v, pieces); err != nil {
			return nil, false, err
		}
		size += len(v)
	}
	if pieces == 0 {
		if own {
			return bytes.Clone(first), true, nil
		}
		return first, true, nil
	}
	body = make([]byte, 0, size)
	body = append(body, first...)
	c.Seek(h[:])
	for k, v = c.Next(); isBodyPiece(k, h); k, v = c.Next() {
		body = append(body, v...)
	}
	return body, true, nil
}

// isBodyPiece says whether k is the key of a piece of block h's body.
func isBodyPiece(k []byte, h Hash) bool {
	return len(k) == len(h)+4 && bytes.HasPrefix(k, h[:])
}

// checkBodyPiece checks piece k, v of block h's body, which should be piece want.
func checkBodyPiece(h Hash, k, v []byte, want int) error {
	if got := be.Uint32(k[len(h):]); int64(got) != int64(want) {
		return fmt.Errorf("block %s: body piece %d where piece %d belongs: %w", h, got, want, ErrCorrupt)
	}
	if len(v) == 0 {
		return fmt.Errorf("block %s: body piece %d is empty or a bucket: %w", h, want, ErrCorrupt)
	}
	return nil
}

// bodyWalk checks the blocks bucket in key order, as a page walk reads it: it gathers each
// body's pieces (copies: a chunked walk spans read transactions) and checks the whole body when
// the next block's key or the end of the bucket comes.
type bodyWalk struct {
	h      Hash   // the body being gathered
	body   []byte // its bytes so far
	pieces int    // pieces after the first
	open   bool   // a body is being gathered
}

// add takes the next key and value of the bucket.
func (w *bodyWalk) add(k, v []byte) error {
	if w.open && isBodyPiece(k, w.h) {
		w.pieces++
		if err := checkBodyPiece(w.h, k, v, w.pieces); err != nil {
			return err
		}
		w.body = append(w.body, v...)
		return nil
	}
	if err := w.flush(); err != nil {
		return err
	}
	h, ok := hashFrom(k)
	if !ok {
		return fmt.Errorf("block key %x: neither a block hash nor a piece of the block before: %w", k, ErrCorrupt)
	}
	w.h, w.body, w.pieces, w.open = h, append(w.body[:0], v...), 0, true
	return nil
}

// flush checks the body gathered so far, if any.
func (w *bodyWalk) flush() error {
	if !w.open {
		return nil
	}
	w.open = false
	return checkBlockValue(w.h[:], w.body)
}
