package chainstate

import (
	"bytes"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// The merged level of the tx index is a set of sorted runs (schema 5), as in a log-structured
// merge tree. A run is a bucket nested in txruns under a u64 id; it holds the run's entries
// (tx hash ‖ block hash ‖ height u64 ‖ index u32, runEntrySize bytes, sorted by tx hash) in
// chunks of up to runChunkEntries, each under the hash of its first entry. The list of runs,
// oldest first, with their sizes, is the meta key "txruns" (n × (id u64 ‖ entries u64)).
//
// A merge of the recent records writes a new run, its chunks put in key order into an empty
// bucket, so every page is written once and full, with one bbolt Put per hundred entries. Then,
// while the newest run's predecessor holds at most runMergeRatio times as many entries, the two
// are merged into a new run and dropped (a dropped bucket frees its pages without writing them):
// each run then holds more than twice the entries of the next newer, so there are at most
// log2(N) of them, and an entry is rewritten about that many times over a chain of N merged
// entries. A lookup seeks the chunk in each run and searches it.
//
// The single hash-keyed tree of schema 3 and 4 (txindex) took a block's 1,000 entries as random
// inserts on about as many of its leaves, so a merge of 48 blocks rewrote most of the tree: 2,415
// pages at 65 blocks of 1,000 transfers, 26,124 at 996, its cost growing with the chain. txindex
// stays as the oldest part of the merged level: an upgraded file's entries remain there, are
// found and deleted there, and are never rewritten.
var (
	bucketTxRuns = []byte("txruns")
	metaTxRuns   = []byte("txruns") // n × (id u64 ‖ entries u64), oldest first
)

// runEntrySize is the size of a run's entry: tx hash ‖ its encoded location (encodeTxLoc).
const runEntrySize = 32 + 44

// runChunkEntries is the most entries a run's chunk holds: two such chunks with their keys and
// element headers fit a leaf of four 4 KiB pages, as two body pieces do (body.go).
const runChunkEntries = bodyPiece / runEntrySize

// txRun is one run of the merged level: its id in txruns and how many entries it holds.
type txRun struct {
	id, n uint64
}

// runMergeRatio: the newest run is merged with its predecessor while that holds at most this
// many times its entries.
const runMergeRatio = 2

// txRuns reads the list of runs from meta (none in a file without it).
func (r *readTx) txRuns() ([]txRun, error) {
	v := r.meta.Get(metaTxRuns)
	if len(v)%16 != 0 {
		return nil, fmt.Errorf("meta %s: %d bytes: %w", metaTxRuns, len(v), ErrCorrupt)
	}
	runs := make([]txRun, 0, len(v)/16)
	for ; len(v) > 0; v = v[16:] {
		runs = append(runs, txRun{id: be.Uint64(v), n: be.Uint64(v[8:])})
	}
	return runs, nil
}

// runBucket returns run id's bucket, ErrCorrupt when the list names a run that is not there.
func (r *readTx) runBucket(id uint64) (*bolt.Bucket, error) {
	var b *bolt.Bucket
	if r.txruns != nil {
		b = r.txruns.Bucket(heightKey(id))
	}
	if b == nil {
		return nil, fmt.Errorf("tx index run %d is listed but missing: %w", id, ErrCorrupt)
	}
	return b, nil
}

// checkRunChunk checks a run's chunk: whole entries in strictly increasing hash order, under
// the hash of the first.
func checkRunChunk(k, v []byte) error {
	if len(v) == 0 || len(v)%runEntrySize != 0 || len(v) > runChunkEntries*runEntrySize {
		return fmt.Errorf("tx index chunk %x: %d bytes: %w", k, len(v), ErrCorrupt)
	}
	if !bytes.Equal(k, v[:32]) {
		return fmt.Errorf("tx index chunk %x: its first entry is %x: %w", k, v[:32], ErrCorrupt)
	}
	if !entriesInOrder(v, runEntrySize) {
		return fmt.Errorf("tx index chunk %x: entries out of order: %w", k, ErrCorrupt)
	}
	return nil
}

// findChunk returns the chunk of run b that would hold h (its key and value; nil when h sorts
// before every chunk) and h's entry's offset in it (-1: not there).
func findChunk(b *bolt.Bucket, h Hash) (k, v []byte, at int, err error) {
	c := b.Cursor()
	k, v = c.Seek(h[:])
	switch {
	case k == nil:
		k, v = c.Last()
	case !bytes.Equal(k, h[:]):
		k, v = c.Prev()
	}
	if k == nil {
		return nil, nil, -1, nil
	}
	if len(v) == 0 || len(v)%runEntrySize != 0 {
		return nil, nil, -1, fmt.Errorf("tx index chunk %x: %d bytes: %w", k, len(v), ErrCorrupt)
	}
	return k, v, searchEntries(v, runEntrySize, h), nil
}

// runLocation looks h up in the runs, newest first.
func (r *readTx) runLocation(h Hash) (TxLocation, bool, error) {
	runs, err := r.txRuns()
	if err != nil {
		return TxLocation{}, false, err
	}
	for i := len(runs) - 1; i >= 0; i-- {
		b, err := r.runBucket(runs[i].id)
		if err != nil {
			return TxLocation{}, false, err
		}
		_, v, at, err := findChunk(b, h)
		if err != nil {
			return TxLocation{}, false, err
		}
		if at >= 0 {
			l, err := decodeTxLoc(h, v[at+32:at+runEntrySize])
			return l, err == nil, err
		}
	}
	return TxLocation{}, false, nil
}

// runEntries returns the number of entries the runs hold, by their list, and by reading their
// chunks (verify compares the two).
func (r *readTx) runEntries() (listed, counted int, err error) {
	runs, err := r.txRuns()
	if err != nil {
		return 0, 0, err
	}
	for _, run := range runs {
		b, err := r.runBucket(run.id)
		if err != nil {
			return 0, 0, err
		}
		listed += int(run.n)
		err = b.ForEach(func(_, v []byte) error {
			counted += len(v) / runEntrySize
			return nil
		})
		if err != nil {
			return 0, 0, err
		}
	}
	return listed, counted, nil
}

// putRuns writes the list of runs.
func (w *writeTx) putRuns(runs []txRun) error {
	v := make([]byte, 0, 16*len(runs))
	for _, run := range runs {
		v = be.AppendUint64(be.AppendUint64(v, run.id), run.n)
	}
	return w.meta.Put(metaTxRuns, v)
}

// runWriter writes a new run's entries, given in order, a chunk at a time.
type runWriter struct {
	run   txRun
	b     *bolt.Bucket
	size  int // bytes in a full chunk
	chunk []byte
}

// newRun creates an empty run after the newest id of runs.
func (w *writeTx) newRun(runs []txRun) (*runWriter, error) {
	id := uint64(1)
	for _, run := range runs {
		id = max(id, run.id+1)
	}
	b, err := w.txruns.CreateBucket(heightKey(id))
	if err != nil {
		return nil, fmt.Errorf("tx index run %d: %w", id, err)
	}
	b.FillPercent = 1 // chunks come in key order: full pages
	return &runWriter{run: txRun{id: id}, b: b, size: max(1, min(w.chunkEntries, runChunkEntries)) * runEntrySize}, nil
}

// add appends an entry (tx hash ‖ location).
func (rw *runWriter) add(entry []byte) error {
	if rw.chunk == nil {
		rw.chunk = make([]byte, 0, rw.size)
	}
	rw.chunk = append(rw.chunk, entry...)
	rw.run.n++
	if len(rw.chunk) >= rw.size {
		return rw.flush()
	}
	return nil
}

// flush puts the chunk being filled. bbolt keeps the value until the commit, so the next chunk
// is a new slice.
func (rw *runWriter) flush() error {
	if len(rw.chunk) == 0 {
		return nil
	}
	err := rw.b.Put(rw.chunk[:32], rw.chunk)
	rw.chunk = nil
	return err
}

// runReader reads a run's entries in order.
type runReader struct {
	c     *bolt.Cursor
	chunk []byte // the rest of the current chunk
}

func newRunReader(b *bolt.Bucket) (*runReader, error) {
	rr := &runReader{c: b.Cursor()}
	k, v := rr.c.First()
	return rr, rr.load(k, v)
}

func (rr *runReader) load(k, v []byte) error {
	if k != nil {
		if err := checkRunChunk(k, v); err != nil {
			return err
		}
	}
	rr.chunk = v
	return nil
}

// entry returns the current entry, nil at the end.
func (rr *runReader) entry() []byte {
	if len(rr.chunk) == 0 {
		return nil
	}
	return rr.chunk[:runEntrySize]
}

func (rr *runReader) next() error {
	if rr.chunk = rr.chunk[runEntrySize:]; len(rr.chunk) > 0 {
		return nil
	}
	k, v := rr.c.Next()
	return rr.load(k, v)
}

// addRun writes a new run, whose entries fill gives to the writer in order, and merges runs while
// the newest's predecessor is at most runMergeRatio times its size.
func (w *writeTx) addRun(fill func(rw *runWriter) error) error {
	runs, err := w.txRuns()
	if err != nil {
		return err
	}
	rw, err := w.newRun(runs)
	if err != nil {
		return err
	}
	if err := fill(rw); err != nil {
		return err
	}
	if err := rw.flush(); err != nil {
		return err
	}
	if rw.run.n == 0 {
		return w.txruns.DeleteBucket(heightKey(rw.run.id))
	}
	runs = append(runs, rw.run)
	for len(runs) >= 2 && runs[len(runs)-2].n <= runMergeRatio*runs[len(runs)-1].n {
		merged, err := w.mergeRuns(runs, runs[len(runs)-2], runs[len(runs)-1])
		if err != nil {
			return err
		}
		runs = append(runs[:len(runs)-2], merged)
	}
	return w.putRuns(runs)
}

// mergeRuns writes the entries of runs a and b, in order, to a new run and drops a and b.
func (w *writeTx) mergeRuns(runs []txRun, a, b txRun) (txRun, error) {
	ba, err := w.runBucket(a.id)
	if err != nil {
		return txRun{}, err
	}
	bb, err := w.runBucket(b.id)
	if err != nil {
		return txRun{}, err
	}
	ra, err := newRunReader(ba)
	if err != nil {
		return txRun{}, err
	}
	rb, err := newRunReader(bb)
	if err != nil {
		return txRun{}, err
	}
	rw, err := w.newRun(runs)
	if err != nil {
		return txRun{}, err
	}
	for ea, eb := ra.entry(), rb.entry(); ea != nil || eb != nil; ea, eb = ra.entry(), rb.entry() {
		from := ra
		switch c := compareNext(ea, eb); {
		case c > 0:
			from = rb
		case c == 0:
			return txRun{}, fmt.Errorf("tx %x is in tx index runs %d and %d: %w", ea[:32], a.id, b.id, ErrCorrupt)
		}
		if err := rw.add(from.entry()); err != nil {
			return txRun{}, err
		}
		if err := from.next(); err != nil {
			return txRun{}, err
		}
	}
	if err := rw.flush(); err != nil {
		return txRun{}, err
	}
	if rw.run.n != a.n+b.n {
		return txRun{}, fmt.Errorf("tx index runs %d and %d hold %d entries, listed %d and %d: %w", a.id, b.id, rw.run.n, a.n, b.n, ErrCorrupt)
	}
	for _, id := range []uint64{a.id, b.id} {
		if err := w.txruns.DeleteBucket(heightKey(id)); err != nil {
			return txRun{}, fmt.Errorf("tx index run %d: %w", id, err)
		}
	}
	return rw.run, nil
}

// compareNext orders two readers' entries by hash, a nil entry (an ended reader) after every
// other.
func compareNext(a, b []byte) int {
	switch {
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return bytes.Compare(a[:32], b[:32])
}

// unindexRuns deletes h from the run that holds it and reports whether one did; a run left
// empty is dropped.
func (w *writeTx) unindexRuns(h Hash) (bool, error) {
	runs, err := w.txRuns()
	if err != nil {
		return false, err
	}
	for i := len(runs) - 1; i >= 0; i-- {
		b, err := w.runBucket(runs[i].id)
		if err != nil {
			return false, err
		}
		k, v, at, err := findChunk(b, h)
		if err != nil {
			return false, err
		}
		if at < 0 {
			continue
		}
		rest := slices.Concat(v[:at], v[at+runEntrySize:]) // a new slice: bbolt keeps the value
		if at == 0 {
			if err := b.Delete(k); err != nil {
				return false, err
			}
		}
		if len(rest) > 0 {
			if err := b.Put(rest[:32], rest); err != nil {
				return false, err
			}
		}
		if runs[i].n--; runs[i].n == 0 {
			if err := w.txruns.DeleteBucket(heightKey(runs[i].id)); err != nil {
				return false, err
			}
			runs = append(runs[:i], runs[i+1:]...)
		}
		return true, w.putRuns(runs)
	}
	return false, nil
}
