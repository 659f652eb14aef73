package chainstate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrExists is returned when Restore or SaveBackup would replace an existing file and was not
// told to (force).
var ErrExists = errors.New("file exists")

// BackupInfo describes a consistent copy of a chain database (Store.Backup, BackupFile).
type BackupInfo struct {
	Bytes       int64  // the copy's size: the database file's size as of the read transaction
	TxID        uint64 // the bbolt transaction the copy is a snapshot of
	Height      uint64 // the main chain's tip in the copy
	TipHash     Hash
	GenesisHash Hash
}

// Backup writes a consistent copy of the live database to w while the store goes on being
// written: the copy is one read transaction's bbolt Tx.WriteTo, the database exactly as of that
// transaction's start, a file that opens as a database of its own. begin, when not nil, is
// called with the copy's description inside the transaction before the first byte is written
// (an HTTP handler sets its headers from it); an error from it ends the backup before anything
// is written. It returns the description and the first error of begin or w.
//
// NB: a read transaction held open keeps bbolt from remapping a growing file, so a write that
// needs more room waits until the copy is written, and Close waits for it too: w must not stall
// (the node bounds each write and cancels the copy when storage stops).
func (s *Store) Backup(w io.Writer, begin func(BackupInfo) error) (BackupInfo, error) {
	var info BackupInfo
	err := s.boltView("backup", func(tx *bolt.Tx) error {
		var err error
		info, err = backupTx(tx, s.genesis, w, begin)
		return err
	})
	return info, s.wrapErr("backup", err)
}

// BackupFile is Backup of the database at path with no node running on it: it opens the file
// read-only (a shared lock; ErrInUse after timeout when a node holds it) and refuses a database
// of another chain than p (ErrWrongChain) or a damaged one.
func BackupFile(path string, p *Params, timeout time.Duration, w io.Writer, begin func(BackupInfo) error) (BackupInfo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("backup %s: %w", path, err)
	}
	exists, err := preflight(abs, timeout)
	if err != nil {
		return BackupInfo{}, err
	}
	if !exists {
		return BackupInfo{}, fmt.Errorf("backup %s: %w", abs, os.ErrNotExist)
	}
	db, err := openBolt(abs, true, timeout)
	if err != nil {
		return BackupInfo{}, err
	}
	defer db.Close()
	var info BackupInfo
	err = guarded(abs, "backup", func() error {
		return db.View(func(tx *bolt.Tx) error {
			if _, err := checkMeta(tx, abs, p.GenesisHash()); err != nil {
				return err
			}
			info, err = backupTx(tx, p.GenesisHash(), w, begin)
			return err
		})
	})
	if err != nil {
		return info, fmt.Errorf("backup %s: %w", abs, err)
	}
	return info, nil
}

// backupTx describes the copy tx makes, calls begin, then writes it.
func backupTx(tx *bolt.Tx, genesis Hash, w io.Writer, begin func(BackupInfo) error) (BackupInfo, error) {
	tip, err := newReadTx(tx).tipEntry()
	if err != nil {
		return BackupInfo{}, err
	}
	info := BackupInfo{Bytes: tx.Size(), TxID: uint64(tx.ID()), Height: tip.Header.Height, TipHash: tip.Hash, GenesisHash: genesis}
	if begin != nil {
		if err := begin(info); err != nil {
			return info, err
		}
	}
	n, err := tx.WriteTo(w)
	if err == nil && n != info.Bytes {
		err = fmt.Errorf("wrote %d bytes of %d", n, info.Bytes)
	}
	return info, err
}

// ReadBackupInfo describes the database file at path (a backup, or a stopped node's database)
// without checking it against any chain: its size, tip and genesis.
func ReadBackupInfo(path string, timeout time.Duration) (BackupInfo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return BackupInfo{}, err
	}
	if _, err := preflight(abs, timeout); err != nil {
		return BackupInfo{}, err
	}
	db, err := openBolt(abs, true, timeout)
	if err != nil {
		return BackupInfo{}, err
	}
	defer db.Close()
	var info BackupInfo
	err = guarded(abs, "read", func() error {
		return db.View(func(tx *bolt.Tx) error {
			r := newReadTx(tx)
			if r.meta == nil {
				return fmt.Errorf("%s: not a chain database (no meta bucket): %w", abs, ErrCorrupt)
			}
			g, ok := hashFrom(r.meta.Get(metaGenesis))
			if !ok {
				return fmt.Errorf("%s: genesis hash missing or malformed: %w", abs, ErrCorrupt)
			}
			tip, err := r.tipEntry()
			if err != nil {
				return err
			}
			info = BackupInfo{Bytes: tx.Size(), TxID: uint64(tx.ID()), Height: tip.Header.Height, TipHash: tip.Hash, GenesisHash: g}
			return nil
		})
	})
	return info, err
}

// SaveBackup writes a backup to dst safely: fill writes the copy into a temporary file next to
// dst, which is synced, checked with Check against p (every page, the chain, the genesis) and only
// then renamed to dst (and the directory synced), so dst is either absent or a complete, checked
// copy. An existing dst is refused (ErrExists) unless force. With verify false the check is
// skipped (the copy is still synced before the rename). The temporary file is removed on every
// failure.
func SaveBackup(dst string, p *Params, force, verify bool, timeout time.Duration, fill func(w io.Writer) (BackupInfo, error)) (BackupInfo, error) {
	abs, err := filepath.Abs(dst)
	if err != nil {
		return BackupInfo{}, err
	}
	if st, err := os.Stat(abs); err == nil {
		if !force {
			return BackupInfo{}, fmt.Errorf("%s: %w (give --force to replace it)", abs, ErrExists)
		}
		if !st.Mode().IsRegular() {
			return BackupInfo{}, fmt.Errorf("%s: not a regular file", abs)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-*")
	if err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	info, err := fill(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return info, fmt.Errorf("backup to %s: %w", abs, err)
	}
	if st, err := os.Stat(tmp); err != nil || st.Size() != info.Bytes {
		return info, fmt.Errorf("backup to %s: the copy has %d bytes, the database had %d: %v", abs, sizeOf(st), info.Bytes, err)
	}
	if verify {
		rep, err := Check(tmp, p, timeout)
		if err != nil {
			return info, fmt.Errorf("backup to %s: check of the copy: %w", abs, err)
		}
		if !rep.OK {
			return info, fmt.Errorf("backup to %s: the copy does not check: %s", abs, strings.Join(rep.Problems, "; "))
		}
	}
	if err := os.Rename(tmp, abs); err != nil {
		return info, fmt.Errorf("backup to %s: %w", abs, err)
	}
	ok = true
	return info, syncDir(filepath.Dir(abs))
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return -1
	}
	return st.Size()
}

// RestoreReport is what Restore did (`node db restore`).
type RestoreReport struct {
	Path        string `json:"path"`                  // the database restored (absolute)
	From        string `json:"from"`                  // the backup it was copied from (absolute)
	Bytes       int64  `json:"bytes"`                 // the database's size
	Height      uint64 `json:"height"`                // the restored chain's tip
	TipHash     string `json:"tip_hash"`              //
	GenesisHash string `json:"genesis_hash"`          // equal to the configured chain's
	MovedAside  string `json:"moved_aside,omitempty"` // where the database it replaced went (force)
}

// Restore installs the backup src as the database at dst for chain p, with no node running on
// dst. It refuses while a node holds dst (ErrInUse after timeout: the lock is taken, not guessed,
// and held until the restore is done), refuses to replace an existing dst unless force (ErrExists),
// and checks the file before it touches dst: it copies src next to dst, syncs it, and runs Check
// on the copy against p, so a backup of another chain (ErrWrongChain, naming both genesis
// hashes), of a newer schema (ErrSchema) or with any damage is refused and dst is left as it
// was. Then an existing dst is moved aside to dst.before-restore-<unix seconds of now> (not
// deleted), the checked copy renamed to dst and the directory synced. src is only read.
func Restore(src, dst string, p *Params, timeout time.Duration, force bool, now time.Time) (*RestoreReport, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("restore: chain parameters: %w", err)
	}
	absSrc, abs, err := restorePaths(src, dst)
	if err != nil {
		return nil, err
	}
	cur, err := lockForRestore(abs, timeout, force)
	if err != nil {
		return nil, err
	}
	if cur != nil {
		defer cur.Close()
	}

	tmp, err := copyNextTo(absSrc, abs)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	out, err := checkRestoreCopy(tmp, absSrc, abs, p, timeout)
	if err != nil {
		return nil, err
	}
	if err := installRestored(tmp, abs, cur != nil, now, out); err != nil {
		return nil, err
	}
	ok = true
	if err := os.Remove(tmp); err != nil { // abs is its other name now
		return out, fmt.Errorf("restore: remove %s: %w", tmp, err)
	}
	return out, syncDir(filepath.Dir(abs))
}

// restorePaths makes src and dst absolute and checks that src is a regular file other than dst,
// creating dst's directory.
func restorePaths(src, dst string) (absSrc, abs string, err error) {
	absSrc, err = filepath.Abs(src)
	if err != nil {
		return "", "", err
	}
	abs, err = filepath.Abs(dst)
	if err != nil {
		return "", "", err
	}
	sst, err := os.Stat(absSrc)
	if err != nil {
		return "", "", fmt.Errorf("restore: %w", err)
	}
	if !sst.Mode().IsRegular() {
		return "", "", fmt.Errorf("restore: %s is not a regular file", absSrc)
	}
	if dst0, err := os.Stat(abs); err == nil && os.SameFile(sst, dst0) {
		return "", "", fmt.Errorf("restore: %s is the database itself", absSrc)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return "", "", fmt.Errorf("restore: %w", err)
	}
	return absSrc, abs, nil
}

// lockForRestore opens the current database at abs and holds its lock, so that a node cannot
// open it for the whole restore: the caller closes the file returned when done. It returns nil
// when there is no database at abs, and ErrExists when there is one and force is not given.
func lockForRestore(abs string, timeout time.Duration, force bool) (*os.File, error) {
	cur, err := os.Open(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("restore: %w", err)
	}
	if err := lockExclusive(cur, abs, timeout); err != nil {
		_ = cur.Close()
		return nil, fmt.Errorf("restore: %w: stop the node first", err)
	}
	if !force {
		_ = cur.Close()
		return nil, fmt.Errorf("restore: %s: %w; give --force to replace it (it is moved aside, not deleted)", abs, ErrExists)
	}
	return cur, nil
}

// checkRestoreCopy checks tmp, the copy of absSrc to be installed at abs, against p, and reports
// what it holds; errors name absSrc, not tmp.
func checkRestoreCopy(tmp, absSrc, abs string, p *Params, timeout time.Duration) (*RestoreReport, error) {
	rep, err := Check(tmp, p, timeout)
	if err != nil {
		return nil, fmt.Errorf("restore: %s refused: %w", absSrc, unTmp(err, tmp, absSrc))
	}
	if !rep.OK {
		return nil, fmt.Errorf("restore: %s refused: it does not check (%s): %w", absSrc, unTmp(errors.New(strings.Join(rep.Problems, "; ")), tmp, absSrc), ErrCorrupt)
	}
	info, err := ReadBackupInfo(tmp, timeout)
	if err != nil {
		return nil, fmt.Errorf("restore: %s: %w", absSrc, unTmp(err, tmp, absSrc))
	}
	return &RestoreReport{Path: abs, From: absSrc, Bytes: info.Bytes, Height: info.Height,
		TipHash: info.TipHash.String(), GenesisHash: info.GenesisHash.String()}, nil
}

// installRestored gives the checked copy tmp the name abs, first moving an existing database
// (replace) aside (out.MovedAside), and moving it back when the link fails.
func installRestored(tmp, abs string, replace bool, now time.Time, out *RestoreReport) error {
	if replace {
		aside := fmt.Sprintf("%s.before-restore-%d", abs, now.Unix())
		if err := os.Rename(abs, aside); err != nil {
			return fmt.Errorf("restore: move %s aside: %w", abs, err)
		}
		out.MovedAside = aside
	}
	// Link, not rename: a database a node created at dst meanwhile (there was none to lock) is
	// not replaced under it; the restore fails instead.
	if err := os.Link(tmp, abs); err != nil {
		if out.MovedAside != "" {
			_ = os.Rename(out.MovedAside, abs)
		}
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("restore: %s appeared meanwhile (a node started?): %w; stop the node first", abs, ErrExists)
		}
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// copyNextTo copies src into a new temporary file in dst's directory, synced, and returns its
// path.
func copyNextTo(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".restore-*")
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(out.Name(), 0o600)
	}
	if err != nil {
		_ = os.Remove(out.Name())
		return "", fmt.Errorf("restore: copy %s: %w", src, err)
	}
	return out.Name(), nil
}

// unTmp names the backup instead of its temporary copy in err's message, keeping err's chain.
func unTmp(err error, tmp, src string) error {
	msg := err.Error()
	if !strings.Contains(msg, tmp) {
		return err
	}
	return &renamedError{msg: strings.ReplaceAll(msg, tmp, src), err: err}
}

type renamedError struct {
	msg string
	err error
}

func (e *renamedError) Error() string { return e.msg }
func (e *renamedError) Unwrap() error { return e.err }

// lockExclusive takes an exclusive flock on f (released when f is closed), polling until
// timeout; ErrInUse when another process (a node, through bbolt) holds a lock on the file.
func lockExclusive(f *os.File, abs string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultOpenTimeout
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("%s: lock: %w", abs, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %w (no lock within %s)", abs, ErrInUse, timeout)
		}
		time.Sleep(50 * time.Millisecond) // NB: flock has no timed wait; bbolt polls at this rate too
	}
}
