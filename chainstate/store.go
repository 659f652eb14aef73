package chainstate

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DefaultOpenTimeout is the lock timeout Open and Verify use when given timeout <= 0 (bbolt
// itself would wait forever).
const DefaultOpenTimeout = 5 * time.Second

// TipInfo is the main chain's tip.
type TipInfo struct {
	Hash   Hash
	Header Header
	Work   *big.Int
}

// Store is the bbolt-backed chain store. Reads are goroutine-safe; writes are meant to come from
// one owner (the storage actor) and each is one bbolt transaction.
//
// Every read method runs one read transaction and returns copies, so results stay valid after it.
// Every write method (PutBlock, Connect, Reorg, PutMempool, MarkInvalid) runs exactly one write
// transaction: it either happens completely and durably or not at all, so after a crash the
// database is at some committed tip and needs no replay. After Close every method returns an
// error wrapping ErrClosed.
type Store struct {
	db      *bolt.DB // owned; closed by Close
	path    string   // absolute
	params  *Params
	genesis Hash

	mu     sync.Mutex // guards closed
	closed bool

	onDamage damageHook // see SetOnDamage (damage.go)
	hold     writeHold  // see HoldWrites (damage.go)

	// beforeCommit, when set, runs at the end of every write transaction, just before bbolt
	// commits it; an error rolls the transaction back (fault injection).
	beforeCommit atomic.Pointer[func() error]
	// recentMax and recentKeep are the tx index's merge policy (txindex.go), chunkEntries the
	// most entries of a run's chunk (txruns.go), recentPiece of a txrecent record's piece
	// (txrecent.go; tests make both small).
	recentMax, recentKeep, chunkEntries, recentPiece int
	// lastWrite is the bbolt transaction id of the last write transaction that committed.
	lastWrite atomic.Uint64
}

// LastWriteID returns the bbolt transaction id of the last write that committed (0 before the
// first): commit traces name it, so that a write can be found again in the file's history.
func (s *Store) LastWriteID() uint64 { return s.lastWrite.Load() }

// SetBeforeCommit installs check, run at the end of every write transaction of this Store
// (PutBlock, Connect, Reorg, PutMempool, MarkInvalid, PutPeers) after its changes are made and
// just before bbolt commits them. A non-nil error rolls the whole transaction back and is
// returned by the write method, wrapped with the operation's name. nil removes the check. It is
// goroutine-safe; the node's storage fault hook uses it so that failures take the real rollback
// path of a commit.
func (s *Store) SetBeforeCommit(check func() error) {
	if check == nil {
		s.beforeCommit.Store(nil)
		return
	}
	s.beforeCommit.Store(&check)
}

// commitCheck runs the before-commit check, if any.
func (s *Store) commitCheck() error {
	if f := s.beforeCommit.Load(); f != nil {
		return (*f)()
	}
	return nil
}

// Open opens or creates the database at path for chain p, waiting at most timeout for the file
// lock (ErrInUse wrapped with the path when it is not got). A database of another genesis
// (ErrWrongChain, naming the file and both hashes) or a newer schema (ErrSchema) is refused and
// left untouched.
//
// A missing file is created with every bucket and the genesis block connected (the Alloc
// accounts, main[0], the tip and its index entry), written aside and linked into place when
// complete. The parent directory is created (mode 0700) when missing. timeout <= 0 means
// DefaultOpenTimeout. An existing file that is damaged (empty, truncated, meta, root or freelist
// page overwritten, not a bbolt database, no chain in it, the tip unreadable) is refused with a
// *DamageError naming it and is not written to (damage.go). The Store owns the file until Close.
func Open(path string, p *Params, timeout time.Duration) (*Store, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("open %s: chain parameters: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("open %s: create directory: %w", abs, err)
	}
	// A damaged file is refused before bbolt trusts it, and never written to; only a missing file
	// starts a new chain (damage.go).
	exists, err := preflight(abs, timeout)
	if err != nil {
		return nil, err
	}
	genesis := p.Genesis()
	if !exists {
		if err := create(abs, p, genesis, timeout); err != nil {
			return nil, err
		}
	}
	db, err := openBolt(abs, false, timeout)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, path: abs, params: p, genesis: genesis.Hash(), recentMax: defaultRecentMax, recentKeep: defaultRecentKeep, chunkEntries: runChunkEntries, recentPiece: recentPieceEntries}
	if err := s.checkOpen(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if err := s.upgrade(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return s, nil
}

// openBolt opens the bbolt file with a lock timeout and turns its errors into ours.
func openBolt(abs string, readOnly bool, timeout time.Duration) (*bolt.DB, error) {
	if timeout <= 0 {
		timeout = DefaultOpenTimeout
	}
	db, err := bolt.Open(abs, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: readOnly})
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("open %s: %w (no lock within %s)", abs, ErrInUse, timeout)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch),
		errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrInvalidMapping):
		return nil, fmt.Errorf("open %s: not a valid database file (%w): %w", abs, ErrCorrupt, err)
	default:
		return nil, fmt.Errorf("open %s: %w", abs, err)
	}
}

// checkMeta checks an existing database against the expected genesis and schema. fresh is true
// for a database without any bucket (a new file).
func checkMeta(tx *bolt.Tx, abs string, genesis Hash) (fresh bool, err error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		empty := true
		_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
		if !empty {
			return false, fmt.Errorf("open %s: not a chain database (no meta bucket): %w", abs, ErrCorrupt)
		}
		return true, nil
	}
	sv := meta.Get(metaSchema)
	if len(sv) != 4 {
		return false, fmt.Errorf("open %s: schema version missing or malformed: %w", abs, ErrCorrupt)
	}
	if v := be.Uint32(sv); v > SchemaVersion {
		return false, fmt.Errorf("open %s: database schema version %d is newer than the supported version %d: %w", abs, v, SchemaVersion, ErrSchema)
	} else if v < 1 {
		return false, fmt.Errorf("open %s: database schema version %d: %w", abs, v, ErrCorrupt)
	}
	g, ok := hashFrom(meta.Get(metaGenesis))
	if !ok {
		return false, fmt.Errorf("open %s: genesis hash missing or malformed: %w", abs, ErrCorrupt)
	}
	if g != genesis {
		return false, fmt.Errorf("open %s: the database's genesis hash %s differs from the configured chain's genesis hash %s: %w", abs, g, genesis, ErrWrongChain)
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil && be.Uint32(sv) >= bucketSince(name) {
			return false, fmt.Errorf("open %s: bucket %q missing: %w", abs, name, ErrCorrupt)
		}
	}
	if _, ok := hashFrom(meta.Get(metaTip)); !ok {
		return false, fmt.Errorf("open %s: tip missing or malformed: %w", abs, ErrCorrupt)
	}
	return false, nil
}

// upgrade brings an older schema up to SchemaVersion in one write transaction (nothing to do
// for a current file). checkOpen has checked the meta bucket and the schema version.
func (s *Store) upgrade() error {
	var v uint32
	if err := s.boltView("open", func(tx *bolt.Tx) error {
		v = be.Uint32(tx.Bucket(bucketMeta).Get(metaSchema))
		return nil
	}); err != nil {
		return fmt.Errorf("open %s: %w", s.path, err)
	}
	if v == SchemaVersion {
		return nil
	}
	err := s.boltUpdate("upgrade", func(tx *bolt.Tx) error {
		if v < 2 {
			if err := migrateMempoolIndex(tx); err != nil {
				return err
			}
		}
		if v < 3 {
			if err := migrateTxRecent(tx); err != nil {
				return err
			}
		}
		if v < 5 {
			if _, err := tx.CreateBucketIfNotExists(bucketTxRuns); err != nil {
				return err
			}
		}
		// Schema 4 stores large bodies in pieces; a body of schema 3 is one piece: nothing
		// to rewrite.
		return tx.Bucket(bucketMeta).Put(metaSchema, be.AppendUint32(nil, SchemaVersion))
	})
	if err != nil {
		return fmt.Errorf("open %s: upgrade schema %d to %d: %w", s.path, v, SchemaVersion, err)
	}
	return nil
}

// initLocked writes a new database: buckets, meta and the connected genesis block.
func (s *Store) initLocked(tx *bolt.Tx, genesis *Block) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	h := s.genesis
	meta := tx.Bucket(bucketMeta)
	if err := firstErr(
		meta.Put(metaSchema, be.AppendUint32(nil, SchemaVersion)),
		meta.Put(metaChainID, []byte(s.params.ChainID)),
		meta.Put(metaGenesis, clone(h[:])),
		meta.Put(metaTip, clone(h[:])),
		meta.Put(metaMempoolCount, be.AppendUint64(nil, 0)),
		meta.Put(metaTxMerged, be.AppendUint64(nil, 0)),
		tx.Bucket(bucketBlocks).Put(clone(h[:]), genesis.Encode()),
		tx.Bucket(bucketIndex).Put(clone(h[:]), encodeEntry(&IndexEntry{
			Hash: h, Header: genesis.Header, Work: s.params.Work(&genesis.Header), Status: StatusMain,
		})),
		tx.Bucket(bucketMain).Put(heightKey(0), clone(h[:])),
	); err != nil {
		return err
	}
	accts := tx.Bucket(bucketAccounts)
	for a, acct := range s.params.allocAccounts() {
		if err := accts.Put(clone(a[:]), encodeAccount(acct)); err != nil {
			return err
		}
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Close closes the database. It is idempotent: later calls return nil. The Store is permanently
// unusable afterwards. It waits for running transactions to finish.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", s.path, err)
	}
	return nil
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Params returns the chain parameters the store was opened with.
func (s *Store) Params() *Params { return s.params }

// GenesisHash returns the genesis hash of the store's chain.
func (s *Store) GenesisHash() Hash { return s.genesis }

func (s *Store) wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("%s %s: %w", op, s.path, ErrClosed)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// view runs fn in one read transaction over a reader of the store's buckets.
func (s *Store) view(op string, fn func(r *readTx) error) error {
	return s.wrapErr(op, s.boltView(op, func(tx *bolt.Tx) error { return fn(newReadTx(tx)) }))
}

// update runs fn in one write transaction.
func (s *Store) update(op string, fn func(w *writeTx) error) error {
	var id uint64
	err := s.boltUpdate(op, func(tx *bolt.Tx) error {
		if err := fn(&writeTx{readTx: newReadTx(tx), p: s.params, recentMax: s.recentMax, recentKeep: s.recentKeep, chunkEntries: s.chunkEntries, recentPiece: s.recentPiece}); err != nil {
			return err
		}
		id = uint64(tx.ID())
		return s.commitCheck()
	})
	if err == nil {
		s.lastWrite.Store(id)
	}
	return s.wrapErr(op, err)
}

// Tip returns the main chain's tip.
func (s *Store) Tip() (TipInfo, error) {
	var ti TipInfo
	err := s.view("tip", func(r *readTx) error {
		e, err := r.tipEntry()
		ti = TipInfo{Hash: e.Hash, Header: e.Header, Work: e.Work}
		return err
	})
	return ti, err
}

// Index returns every block index entry, sorted by height and then hash (so every parent comes
// before its children).
func (s *Store) Index() ([]IndexEntry, error) {
	var out []IndexEntry
	err := s.view("index", func(r *readTx) error {
		return r.index.ForEach(func(k, v []byte) error {
			h, ok := hashFrom(k)
			if !ok {
				return fmt.Errorf("index key of %d bytes: %w", len(k), ErrCorrupt)
			}
			e, err := decodeEntry(h, v)
			out = append(out, e)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b IndexEntry) int {
		if c := cmp.Compare(a.Header.Height, b.Header.Height); c != 0 {
			return c
		}
		return bytes.Compare(a.Hash[:], b.Hash[:])
	})
	return out, nil
}

// Entry returns the index entry of h; ok is false when h is unknown.
func (s *Store) Entry(h Hash) (e IndexEntry, ok bool, err error) {
	err = s.view("entry", func(r *readTx) error {
		e, ok, err = r.entry(h)
		return err
	})
	return e, ok, err
}

// Block returns the stored block h; ok is false when it is not stored.
func (s *Store) Block(h Hash) (b *Block, ok bool, err error) {
	err = s.view("block", func(r *readTx) error {
		b, ok, err = r.block(h)
		return err
	})
	return b, ok, err
}

// RawBlock returns a copy of the stored encoding of block h (Block.Encode's bytes), for sending
// as it is: a node serving a sync neither decodes nor encodes its blocks again. The value must
// hold a header that hashes to h; anything else is ErrCorrupt. Unlike Block it does not decode
// the transactions, so damage inside them reaches the peer, whose checks reject the block (the
// startup page walk decodes every stored block). ok is false when h is not stored.
func (s *Store) RawBlock(h Hash) (raw []byte, ok bool, err error) {
	err = s.view("block", func(r *readTx) error {
		v, found, err := ownBodyOf(r.blocks, h)
		if err != nil || !found {
			return err
		}
		if len(v) < HeaderSize {
			return fmt.Errorf("block %s: %d bytes, shorter than a header: %w", h, len(v), ErrCorrupt)
		}
		hdr, err := DecodeHeader(v[:HeaderSize])
		if err != nil {
			return fmt.Errorf("block %s: %v: %w", h, err, ErrCorrupt)
		}
		if got := hdr.Hash(); got != h {
			return fmt.Errorf("block %s: the stored header hashes to %s: %w", h, got, ErrCorrupt)
		}
		raw, ok = v, true
		return nil
	})
	return raw, ok, err
}

// MainHash returns the hash of the main-chain block at height; ok is false above the tip.
func (s *Store) MainHash(height uint64) (h Hash, ok bool, err error) {
	err = s.view("main hash", func(r *readTx) error {
		h, ok, err = r.mainHash(height)
		return err
	})
	return h, ok, err
}

// Account returns the state of a at the tip (the zero account when unknown).
func (s *Store) Account(a Address) (acct Account, err error) {
	err = s.view("account", func(r *readTx) error {
		acct, err = r.Account(a)
		return err
	})
	return acct, err
}

// TxLocation returns where the main chain confirmed transaction h; ok is false when it did not.
func (s *Store) TxLocation(h Hash) (l TxLocation, ok bool, err error) {
	err = s.view("tx location", func(r *readTx) error {
		l, ok, err = r.txLocation(h)
		return err
	})
	return l, ok, err
}

// TxsConfirmed reports, for each of hs, whether the main chain holds it (TxLocation found it), in
// one read transaction.
func (s *Store) TxsConfirmed(hs []Hash) ([]bool, error) {
	out := make([]bool, len(hs))
	err := s.view("tx locations", func(r *readTx) error {
		for i, h := range hs {
			_, ok, err := r.txLocation(h)
			if err != nil {
				return err
			}
			out[i] = ok
		}
		return nil
	})
	return out, err
}

// MempoolTxs returns every transaction in the mempool bucket, in hash order.
func (s *Store) MempoolTxs() ([]*Tx, error) {
	var out []*Tx
	err := s.view("mempool", func(r *readTx) error {
		return r.mempool.ForEach(func(k, v []byte) error {
			tx, err := DecodeTx(v)
			if err != nil {
				return fmt.Errorf("mempool entry %x: %v: %w", k, err, ErrCorrupt)
			}
			out = append(out, tx)
			return nil
		})
	})
	return out, err
}

// View runs fn with an AccountReader over one read transaction: every read sees the same tip,
// whatever is connected meanwhile. The reader is only valid until fn returns. fn's error is
// returned.
func (s *Store) View(fn func(r AccountReader) error) error {
	return s.view("view", func(r *readTx) error { return fn(r) })
}

// readTx reads the store's buckets inside one bbolt transaction. Every value it returns is a
// copy or a decoded value, valid after the transaction.
type readTx struct {
	tx                                                          *bolt.Tx
	meta, index, blocks, main, accounts, undo, txindex, mempool *bolt.Bucket
	mempoolSender                                               *bolt.Bucket // nil in a schema 1 file opened read-only
	txrecent                                                    *bolt.Bucket // nil in a schema 1 or 2 file opened read-only
	txruns                                                      *bolt.Bucket // nil in a schema 4 or older file opened read-only
}

func newReadTx(tx *bolt.Tx) *readTx {
	return &readTx{
		tx:       tx,
		meta:     tx.Bucket(bucketMeta),
		index:    tx.Bucket(bucketIndex),
		blocks:   tx.Bucket(bucketBlocks),
		main:     tx.Bucket(bucketMain),
		accounts: tx.Bucket(bucketAccounts),
		undo:     tx.Bucket(bucketUndo),
		txindex:  tx.Bucket(bucketTxIndex),
		mempool:  tx.Bucket(bucketMempool),

		mempoolSender: tx.Bucket(bucketMempoolSender),
		txrecent:      tx.Bucket(bucketTxRecent),
		txruns:        tx.Bucket(bucketTxRuns),
	}
}

// Account implements AccountReader.
func (r *readTx) Account(a Address) (Account, error) {
	v := r.accounts.Get(a[:])
	if v == nil {
		return Account{}, nil
	}
	return decodeAccount(a, v)
}

func (r *readTx) tipHash() (Hash, error) {
	h, ok := hashFrom(r.meta.Get(metaTip))
	if !ok {
		return h, fmt.Errorf("tip missing or malformed: %w", ErrCorrupt)
	}
	return h, nil
}

func (r *readTx) tipEntry() (IndexEntry, error) {
	h, err := r.tipHash()
	if err != nil {
		return IndexEntry{}, err
	}
	e, ok, err := r.entry(h)
	if err == nil && !ok {
		err = fmt.Errorf("tip %s has no index entry: %w", h, ErrCorrupt)
	}
	return e, err
}

func (r *readTx) entry(h Hash) (IndexEntry, bool, error) {
	v := r.index.Get(h[:])
	if v == nil {
		return IndexEntry{}, false, nil
	}
	e, err := decodeEntry(h, v)
	return e, err == nil, err
}

func (r *readTx) block(h Hash) (*Block, bool, error) {
	v, ok, err := bodyOf(r.blocks, h)
	if err != nil || !ok {
		return nil, false, err
	}
	b, err := DecodeBlock(v)
	if err != nil {
		return nil, false, fmt.Errorf("block %s: %v: %w", h, err, ErrCorrupt)
	}
	return b, true, nil
}

func (r *readTx) mainHash(height uint64) (Hash, bool, error) {
	v := r.main.Get(heightKey(height))
	if v == nil {
		return Hash{}, false, nil
	}
	h, ok := hashFrom(v)
	if !ok {
		return h, false, fmt.Errorf("main chain entry %d: %d bytes: %w", height, len(v), ErrCorrupt)
	}
	return h, true, nil
}

func (r *readTx) undoRecord(h Hash) ([]AccountChange, bool, error) {
	v := r.undo.Get(h[:])
	if v == nil {
		return nil, false, nil
	}
	u, err := decodeUndo(h, v)
	return u, err == nil, err
}

func (r *readTx) forEachAccount(fn func(Address, Account) error) error {
	return r.accounts.ForEach(func(k, v []byte) error {
		var a Address
		if len(k) != len(a) {
			return fmt.Errorf("account key of %d bytes: %w", len(k), ErrCorrupt)
		}
		copy(a[:], k)
		acct, err := decodeAccount(a, v)
		if err != nil {
			return err
		}
		return fn(a, acct)
	})
}

// counts returns the number of keys in main, undo and txindex (the tx index's merged level:
// the txindex bucket and the runs).
func (r *readTx) counts() (main, undo, txindex int, err error) {
	_, runs, err := r.runEntries()
	return r.main.Stats().KeyN, r.undo.Stats().KeyN, r.txindex.Stats().KeyN + runs, err
}

// withReadOnly opens an existing database read-only (a shared lock: it fails with ErrInUse while
// a Store has it open), checks it belongs to p's chain and runs fn in one read transaction.
func withReadOnly(path string, p *Params, timeout time.Duration, fn func(abs string, r *readTx) error) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if exists, err := preflight(abs, timeout); err != nil {
		return err
	} else if !exists {
		return fmt.Errorf("open %s: %w", abs, os.ErrNotExist)
	}
	db, err := openBolt(abs, true, timeout)
	if err != nil {
		return err
	}
	err = guarded(abs, "read", func() error {
		return db.View(func(tx *bolt.Tx) error {
			fresh, err := checkMeta(tx, abs, p.GenesisHash())
			if err != nil {
				return err
			}
			if fresh {
				return fmt.Errorf("open %s: database is empty: %w", abs, ErrCorrupt)
			}
			return fn(abs, newReadTx(tx))
		})
	})
	return errors.Join(err, db.Close())
}
