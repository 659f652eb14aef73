package chainstate

import (
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// PageMap is where a database file's data lives: its page size, its high-water mark (the pages in
// use end below it; the file may be longer) and the pages that hold live data.
type PageMap struct {
	PageSize  int
	HighWater int
	// Live are the B+tree's branch and leaf pages (the first page of each run with overflow):
	// not the two meta pages, not the freelist, not free pages.
	Live []int
}

// Pages opens the database at path read-only (waiting at most timeout for the lock) and maps its
// pages. It is for tools that damage a copy on purpose (node chaos), so that the damage hits data
// that matters; it must only be given a healthy file.
func Pages(path string, timeout time.Duration) (PageMap, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return PageMap{}, err
	}
	if timeout <= 0 {
		timeout = DefaultOpenTimeout
	}
	db, err := bolt.Open(abs, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout, PreLoadFreelist: true})
	if err != nil {
		return PageMap{}, fmt.Errorf("map pages of %s: %w", abs, err)
	}
	defer db.Close()
	m := PageMap{PageSize: db.Info().PageSize}
	err = db.View(func(tx *bolt.Tx) error {
		m.HighWater = int(tx.Size() / int64(m.PageSize))
		for id := 2; id < m.HighWater; id++ {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			if info == nil {
				return nil
			}
			switch info.Type {
			case "branch", "leaf":
				m.Live = append(m.Live, id)
				id += info.OverflowCount
			case "meta", "freelist":
				id += info.OverflowCount
			default:
				// A free page's header may be the data of the run it was part of (its overflow
				// count any number): it is one page. Following that count once made the walk
				// report a high-water mark of 6 TB (node chaos seed 42, 5 nodes), and the
				// truncation to half of it grew the file instead.
			}
		}
		return nil
	})
	if err != nil {
		return PageMap{}, fmt.Errorf("map pages of %s: %w", abs, err)
	}
	return m, nil
}
