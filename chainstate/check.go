package chainstate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CheckReport is what Check found (`node db check`).
type CheckReport struct {
	OK       bool     `json:"ok"`
	Path     string   `json:"path"`     // absolute
	Pages    uint64   `json:"pages"`    // pages in use (the meta page's high-water mark; 0 without a valid meta page)
	Problems []string `json:"problems"` // empty when OK
}

// maxProblems bounds the problems Check lists.
const maxProblems = 50

// Check checks the database at path offline (no node may have it open: ErrInUse): the file's
// layout as Open does, every page (the page walk of every bucket, then bbolt's own consistency
// check: no page reachable twice or both reachable and free, none lost), and the chain as Verify
// does. Damage is reported as problems in the report, not as an error; the error is for what
// stops the check itself (a missing file, ErrInUse, ErrWrongChain, ErrSchema). The file is only
// read.
func Check(path string, p *Params, timeout time.Duration) (*CheckReport, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("check %s: chain parameters: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", path, err)
	}
	rep := &CheckReport{Path: abs}
	probs := &problemList{max: maxProblems}
	exists, err := preflight(abs, timeout)
	var de *DamageError
	switch {
	case errors.As(err, &de):
		probs.add(errors.New(de.Problem))
		rep.Problems = probs.list()
		rep.Pages = layoutPages(abs)
		return rep, nil
	case err != nil:
		return nil, err
	case !exists:
		return nil, fmt.Errorf("check %s: %w", abs, os.ErrNotExist)
	}
	db, err := openBolt(abs, true, timeout)
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			probs.add(err)
			rep.Problems = probs.list()
			return rep, nil
		}
		return nil, err
	}
	defer db.Close()
	err = guarded(abs, "check", func() error {
		return db.View(func(tx *bolt.Tx) error {
			rep.Pages = uint64(tx.Size()) / uint64(db.Info().PageSize)
			return checkTx(abs, p, tx, probs)
		})
	})
	if errors.As(err, &de) {
		probs.add(errors.New(de.Problem))
	} else if err != nil {
		return nil, err
	}
	rep.Problems = probs.list()
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}

// checkTx is Check inside the read transaction: meta, page walk, bbolt's check, the chain. Each
// step runs only when the previous found nothing, so that bbolt's check (in its own goroutine)
// and the chain replay never meet a page the walk found unreadable.
func checkTx(abs string, p *Params, tx *bolt.Tx, probs *problemList) error {
	fresh, err := checkMeta(tx, abs, p.GenesisHash())
	if errors.Is(err, ErrWrongChain) || errors.Is(err, ErrSchema) {
		return err
	}
	probs.add(err)
	if fresh {
		probs.add(errors.New("a bbolt database without a chain in it (no meta bucket)"))
	}
	names, err := rootBuckets(tx)
	if err != nil {
		probs.add(err)
		return nil
	}
	for _, name := range names {
		w := newBucketWalk(name)
		probs.add(guarded(abs, "bucket "+string(name), func() error {
			_, err := w.step(tx.Bucket(name), int(^uint(0)>>1))
			return err
		}))
	}
	if len(probs.items) > 0 {
		return nil
	}
	for err := range tx.Check() {
		probs.add(fmt.Errorf("bbolt check: %w", err))
	}
	if len(probs.items) > 0 {
		return nil
	}
	if _, err := verifyChain(p, newReadTx(tx)); err != nil {
		probs.add(fmt.Errorf("chain: %w", err))
	}
	return nil
}

// layoutPages is the high-water mark of the file's valid meta page, 0 without one.
func layoutPages(abs string) uint64 {
	f, err := os.Open(abs)
	if err != nil {
		return 0
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	m, _ := checkLayout(st.Size(), f)
	return m.HWM
}
