package chainstate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrDamaged is wrapped by every *DamageError: the database file is damaged (truncated, pages
// overwritten, not a bbolt file, no chain in it). A damaged file is never written to.
var ErrDamaged = errors.New("database is damaged")

// DamageError names a damaged database file and what was found. It matches ErrDamaged and
// ErrCorrupt with errors.Is.
type DamageError struct {
	Path    string // absolute
	Problem string
}

// Error returns "database PATH is damaged: PROBLEM".
func (e *DamageError) Error() string {
	return fmt.Sprintf("database %s is damaged: %s", e.Path, e.Problem)
}

// Is makes errors.Is(err, ErrDamaged) and errors.Is(err, ErrCorrupt) hold.
func (e *DamageError) Is(target error) bool { return target == ErrDamaged || target == ErrCorrupt }

func damaged(abs, format string, args ...any) *DamageError {
	return &DamageError{Path: abs, Problem: fmt.Sprintf(format, args...)}
}

// asDamage turns a read failure into a *DamageError naming abs: a recovered panic or fault
// (bbolt's page assertions, a page beyond the end of the file) or an ErrCorrupt (a value that
// does not decode). Other errors, and errors that already are damage errors, are returned as is.
func asDamage(abs string, err error) error {
	var de *DamageError
	if err == nil || errors.As(err, &de) || !errors.Is(err, ErrCorrupt) {
		return err
	}
	return &DamageError{Path: abs, Problem: err.Error()}
}

// panicDamage is the damage error for a panic recovered while reading abs.
func panicDamage(abs, op string, r any) *DamageError {
	return damaged(abs, "%s: unreadable page (%v)", op, r)
}

// guarded runs fn, turning a panic (bbolt asserts on pages it cannot make sense of) or a
// memory fault (a page beyond the end of a truncated file: the goroutine panics on faults while
// fn runs) into a *DamageError naming abs, and an ErrCorrupt into one too. It is the one place
// where reads and writes of a Store meet damaged pages: Store.view and Store.update go through
// it (with Store.guard), as do the offline check, verify and salvage.
func guarded(abs, op string, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			err = panicDamage(abs, op, r)
		}
	}()
	return asDamage(abs, fn())
}

// guard is guarded for this store, reporting damage to the SetOnDamage hook.
func (s *Store) guard(op string, fn func() error) error {
	err := guarded(s.path, op, fn)
	if errors.Is(err, ErrDamaged) {
		s.reportDamage(err)
	}
	return err
}

// damageHook holds the Store's damage hook; a Store embeds one.
type damageHook struct {
	fn atomic.Pointer[func(error)]
}

// SetOnDamage installs fn, called (from whichever goroutine met it) with every *DamageError a
// read or write of this Store returns, and with what the background page walk finds. The node
// uses it to stop itself: a damaged database is never served. nil removes it.
func (s *Store) SetOnDamage(fn func(error)) {
	if fn == nil {
		s.onDamage.fn.Store(nil)
		return
	}
	s.onDamage.fn.Store(&fn)
}

func (s *Store) reportDamage(err error) {
	if f := s.onDamage.fn.Load(); f != nil {
		(*f)(err)
	}
}

// bbolt's on-disk layout, as far as the open-time checks read it (go.etcd.io/bbolt/internal/common).
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	boltPageHeader   = 16 // id u64, flags u16, count u16, overflow u32
	boltMetaSize     = 64 // magic .. checksum
	boltNoFreelist   = ^uint64(0)
	boltBranchFlag   = 0x01
	boltLeafFlag     = 0x02
	boltFreelistFlag = 0x10
	boltMinPageSize  = 512
	boltMaxPageSize  = 1 << 20
)

// boltMeta is a decoded bbolt meta page.
type boltMeta struct {
	PageSize uint32
	Root     uint64 // the root bucket's root page
	Freelist uint64 // boltNoFreelist when none is written
	HWM      uint64 // high-water mark: pages in use are below it
	TxID     uint64
}

// parseBoltMeta decodes the meta page at the start of page (the page header first). ok is false
// when the magic, the version or the checksum does not hold (a zeroed, overwritten or foreign
// page).
func parseBoltMeta(page []byte) (m boltMeta, ok bool) {
	if len(page) < boltPageHeader+boltMetaSize {
		return m, false
	}
	b := page[boltPageHeader : boltPageHeader+boltMetaSize]
	le := binary.LittleEndian
	if le.Uint32(b[0:]) != boltMagic || le.Uint32(b[4:]) != boltVersion {
		return m, false
	}
	if le.Uint64(b[56:]) != fnv64a(b[:56]) {
		return m, false
	}
	m = boltMeta{
		PageSize: le.Uint32(b[8:]),
		Root:     le.Uint64(b[16:]),
		Freelist: le.Uint64(b[32:]),
		HWM:      le.Uint64(b[40:]),
		TxID:     le.Uint64(b[48:]),
	}
	return m, true
}

func fnv64a(b []byte) uint64 {
	h := uint64(0xcbf29ce484222325)
	for _, x := range b {
		h = (h ^ uint64(x)) * 0x100000001b3
	}
	return h
}

// boltPageHdr is a decoded page header.
type boltPageHdr struct {
	ID       uint64
	Flags    uint16
	Count    uint16
	Overflow uint32
}

func parsePageHdr(b []byte) boltPageHdr {
	le := binary.LittleEndian
	return boltPageHdr{ID: le.Uint64(b), Flags: le.Uint16(b[8:]), Count: le.Uint16(b[10:]), Overflow: le.Uint32(b[12:])}
}

// checkLayout is the cheap structural check of a bbolt file that bbolt does not do before it
// trusts the file: given the file's size and a reader at its bytes, it finds the newest valid meta
// page (as bbolt does), and checks that the file reaches the meta's high-water mark, that the
// root page is a branch or leaf page that names itself, and that the freelist page is a freelist
// page naming itself whose ids are all in range. It reads at most the first two pages, the root
// page's header and the freelist pages. The result is a problem in words, or "" when the layout
// holds.
func checkLayout(size int64, r io.ReaderAt) (boltMeta, string) {
	m, problem := newestMeta(size, r)
	if problem != "" {
		return boltMeta{}, problem
	}
	if p := checkMetaBounds(m, size); p != "" {
		return m, p
	}
	if p := checkRoot(m, r); p != "" {
		return m, p
	}
	if m.Freelist == boltNoFreelist {
		return m, "the meta page names no freelist page (this store always writes one)"
	}
	if p := checkFreelist(m, r); p != "" {
		return m, p
	}
	return m, ""
}

// newestMeta finds the newest valid meta page of a bbolt file of size bytes read through r, as
// bbolt does; the problem is in words, "" when there is one.
func newestMeta(size int64, r io.ReaderAt) (boltMeta, string) {
	if size == 0 {
		return boltMeta{}, "the file is empty (a new chain starts only when there is no file)"
	}
	first := make([]byte, boltPageHeader+boltMetaSize)
	if size < int64(len(first)) {
		return boltMeta{}, fmt.Sprintf("the file is %d bytes, too short for a bbolt database", size)
	}
	if _, err := r.ReadAt(first, 0); err != nil {
		return boltMeta{}, fmt.Sprintf("read the first meta page: %v", err)
	}
	m0, ok0 := parseBoltMeta(first)
	m1, ok1 := secondMeta(size, r, m0, ok0)
	switch {
	case ok0 && ok1:
		if m1.TxID > m0.TxID {
			return m1, ""
		}
		return m0, ""
	case ok0:
		return m0, ""
	case ok1:
		return m1, ""
	}
	return boltMeta{}, "no valid meta page (the meta pages are overwritten, or this is not a bbolt database)"
}

// secondMeta reads the second meta page, one page size in: the size is the first meta's m0
// when it is valid (ok0), else the first of the usual sizes at which a valid meta page of that
// size sits.
func secondMeta(size int64, r io.ReaderAt, m0 boltMeta, ok0 bool) (boltMeta, bool) {
	const n = boltPageHeader + boltMetaSize
	sizes := []uint32{4096, 512, 1024, 2048, 8192, 16384, 32768, 65536}
	if ok0 {
		sizes = []uint32{m0.PageSize}
	}
	for _, ps := range sizes {
		if ps < boltMinPageSize || ps > boltMaxPageSize || int64(ps)+n > size {
			continue
		}
		buf := make([]byte, n)
		if _, err := r.ReadAt(buf, int64(ps)); err != nil {
			continue
		}
		if m, ok := parseBoltMeta(buf); ok && m.PageSize == ps {
			return m, true
		}
	}
	return boltMeta{}, false
}

// checkMetaBounds checks meta m's page size, its high-water mark against the file's size, and
// its root page's range.
func checkMetaBounds(m boltMeta, size int64) string {
	ps := int64(m.PageSize)
	if ps < boltMinPageSize || ps > boltMaxPageSize || ps&(ps-1) != 0 {
		return fmt.Sprintf("meta page gives page size %d", ps)
	}
	if m.HWM < 4 || m.HWM > uint64(1<<62)/uint64(ps) {
		return fmt.Sprintf("meta page gives high-water mark %d pages", m.HWM)
	}
	if used := int64(m.HWM) * ps; size < used {
		return fmt.Sprintf("truncated: the file is %d bytes, the database extends to %d bytes (%d pages of %d)", size, used, m.HWM, ps)
	}
	if m.Root < 2 || m.Root >= m.HWM {
		return fmt.Sprintf("meta page gives root page %d outside 2..%d", m.Root, m.HWM-1)
	}
	return ""
}

// checkRoot checks that m's root page is a branch or leaf page that names itself.
func checkRoot(m boltMeta, r io.ReaderAt) string {
	hdr := make([]byte, boltPageHeader)
	if _, err := r.ReadAt(hdr, int64(m.Root)*int64(m.PageSize)); err != nil {
		return fmt.Sprintf("read root page %d: %v", m.Root, err)
	}
	if h := parsePageHdr(hdr); h.ID != m.Root || (h.Flags != boltBranchFlag && h.Flags != boltLeafFlag) {
		return fmt.Sprintf("root page %d is overwritten (it names page %d, flags %#x)", m.Root, h.ID, h.Flags)
	}
	return ""
}

// checkFreelist checks the freelist page of m: its header, and that every id it lists is a page
// between 2 and the high-water mark.
func checkFreelist(m boltMeta, r io.ReaderAt) string {
	ps := int64(m.PageSize)
	if m.Freelist < 2 || m.Freelist >= m.HWM {
		return fmt.Sprintf("meta page gives freelist page %d outside 2..%d", m.Freelist, m.HWM-1)
	}
	hdr := make([]byte, boltPageHeader+8)
	if _, err := r.ReadAt(hdr, int64(m.Freelist)*ps); err != nil {
		return fmt.Sprintf("read freelist page %d: %v", m.Freelist, err)
	}
	h := parsePageHdr(hdr)
	if h.ID != m.Freelist || h.Flags != boltFreelistFlag {
		return fmt.Sprintf("freelist page %d is overwritten (it names page %d, flags %#x)", m.Freelist, h.ID, h.Flags)
	}
	if m.Freelist+uint64(h.Overflow) >= m.HWM {
		return fmt.Sprintf("freelist page %d overflows %d pages past the high-water mark %d", m.Freelist, h.Overflow, m.HWM)
	}
	n, off := int64(h.Count), int64(boltPageHeader)
	if h.Count == 0xFFFF { // the count does not fit: it is the first element
		n, off = int64(binary.LittleEndian.Uint64(hdr[boltPageHeader:])), boltPageHeader+8
	}
	span := (int64(h.Overflow) + 1) * ps
	if n < 0 || off+n*8 > span {
		return fmt.Sprintf("freelist page %d lists %d ids, more than its %d bytes hold", m.Freelist, n, span)
	}
	ids := make([]byte, n*8)
	if _, err := r.ReadAt(ids, int64(m.Freelist)*ps+off); err != nil {
		return fmt.Sprintf("read freelist page %d: %v", m.Freelist, err)
	}
	for i := int64(0); i < n; i++ {
		if id := binary.LittleEndian.Uint64(ids[i*8:]); id < 2 || id >= m.HWM {
			return fmt.Sprintf("freelist page %d lists page %d, outside 2..%d", m.Freelist, id, m.HWM-1)
		}
	}
	return ""
}

// preflight checks the file at abs before bbolt opens it, without writing to it. exists is
// false when there is no file (a new chain may be created); an existing file must pass
// checkLayout, else the error is a *DamageError. It holds a shared lock on the file while it
// reads (waiting at most timeout, like bbolt), so that a file a node is writing is reported in
// use, not damaged.
func preflight(abs string, timeout time.Duration) (exists bool, err error) {
	f, err := os.Open(abs)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("open %s: %w", abs, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return true, fmt.Errorf("open %s: %w", abs, err)
	}
	if !st.Mode().IsRegular() {
		return true, damaged(abs, "not a regular file")
	}
	if err := lockShared(f, abs, timeout); err != nil {
		return true, err
	}
	if _, problem := checkLayout(st.Size(), f); problem != "" {
		return true, damaged(abs, "%s", problem)
	}
	return true, nil
}

// lockShared takes a shared flock on f (released when f is closed), polling until timeout as
// bbolt does.
func lockShared(f *os.File, abs string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultOpenTimeout
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("open %s: lock: %w", abs, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("open %s: %w (no lock within %s)", abs, ErrInUse, timeout)
		}
		time.Sleep(50 * time.Millisecond) // NB: flock has no timed wait; bbolt polls at this rate too
	}
}

// create writes a new database for p at abs (which does not exist): it is initialised in a
// temporary file next to it and linked into place only when complete, so that a file at abs
// always holds a chain, and an existing file without one is damage, never a new chain.
func create(abs string, p *Params, genesis *Block, timeout time.Duration) error {
	tmp := abs + ".new"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("open %s: remove stale %s: %w", abs, tmp, err)
	}
	db, err := openBolt(tmp, false, timeout)
	if err != nil {
		return err
	}
	s := &Store{db: db, path: tmp, params: p, genesis: genesis.Hash()}
	err = db.Update(func(tx *bolt.Tx) error { return s.initLocked(tx, genesis) })
	if err = errors.Join(err, db.Close()); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("open %s: initialise: %w", abs, err)
	}
	// Link, not rename: a file another process created meanwhile is kept (and opened).
	if err := os.Link(tmp, abs); err != nil && !errors.Is(err, os.ErrExist) {
		_ = os.Remove(tmp)
		return fmt.Errorf("open %s: %w", abs, err)
	}
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("open %s: remove %s: %w", abs, tmp, err)
	}
	return syncDir(filepath.Dir(abs))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// checkOpen is what Open checks inside the file: the meta bucket (schema, genesis, tip, every
// bucket) and the tip's index entry, block and main chain entry. A file without a chain (an
// empty bbolt database) is damaged.
func (s *Store) checkOpen() error {
	return s.guard("open", func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			fresh, err := checkMeta(tx, s.path, s.genesis)
			if err != nil {
				return err
			}
			if fresh {
				return damaged(s.path, "a bbolt database without a chain in it (no meta bucket)")
			}
			return checkTip(newReadTx(tx))
		})
	})
}

// checkTip reads what every start needs: the tip's index entry (status main), its block (hashing
// to it) and main[tip height] naming it. It touches a few pages only.
func checkTip(r *readTx) error {
	tip, err := r.tipEntry()
	if err != nil {
		return err
	}
	if tip.Status != StatusMain {
		return fmt.Errorf("tip %s has status %s: %w", tip.Hash, tip.Status, ErrCorrupt)
	}
	b, ok, err := r.block(tip.Hash)
	if err != nil {
		return err
	}
	if !ok || b.Hash() != tip.Hash {
		return fmt.Errorf("tip %s: block body missing or not hashing to it: %w", tip.Hash, ErrCorrupt)
	}
	h, ok, err := r.mainHash(tip.Header.Height)
	if err != nil {
		return err
	}
	if !ok || h != tip.Hash {
		return fmt.Errorf("tip %s: main chain entry at height %d does not name it: %w", tip.Hash, tip.Header.Height, ErrCorrupt)
	}
	return nil
}

// boltView is s.db.View through guard, for the store's files that use bbolt directly.
func (s *Store) boltView(op string, fn func(*bolt.Tx) error) error {
	return s.guard(op, func() error { return s.db.View(fn) })
}

// boltUpdate is s.db.Update through guard, after any write hold (HoldWrites).
func (s *Store) boltUpdate(op string, fn func(*bolt.Tx) error) error {
	if err := s.hold.wait(); err != nil {
		return err
	}
	return s.guard(op, func() error { return s.db.Update(fn) })
}

// writeHold makes writes wait while the first page walk of a freshly opened store runs, so that
// a damaged file the walk is about to find is not written to meanwhile (see HoldWrites).
type writeHold struct {
	mu   sync.Mutex
	done chan struct{} // nil: writes go ahead
	err  error         // returned by the held writes when the walk found damage
}

// HoldWrites makes every write of the store wait until release is called or max passes,
// whichever is first; release(err) with a damage error makes the held and all later writes fail
// with it (a damaged file is never written to), release(nil) lets them go ahead. The node holds
// writes while its first page walk runs. Calling release more than once is harmless.
func (s *Store) HoldWrites(max time.Duration) (release func(err error)) {
	done := make(chan struct{})
	timer := time.AfterFunc(max, func() { s.hold.release(done, nil) })
	s.hold.mu.Lock()
	s.hold.done = done
	s.hold.mu.Unlock()
	return func(err error) {
		timer.Stop()
		s.hold.release(done, err)
	}
}

func (h *writeHold) release(done chan struct{}, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if errors.Is(err, ErrDamaged) && h.err == nil {
		h.err = err
	}
	if h.done == done {
		close(done)
		h.done = nil
	}
}

// wait blocks while writes are held and returns the damage that refuses them, if any.
func (h *writeHold) wait() error {
	h.mu.Lock()
	done := h.done
	h.mu.Unlock()
	if done != nil {
		<-done // NB: bounded: HoldWrites releases after at most its max
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}
