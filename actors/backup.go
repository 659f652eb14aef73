package actors

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/actorchain/actorchain/chainstate"
)

// Aborter is implemented by a backup destination whose blocked Write can be interrupted (the
// API's response writer: Abort sets its connection's write deadline to now). Node.Backup aborts
// it when the backup is cancelled, so a stalled reader cannot hold the copy's read transaction.
type Aborter interface{ Abort() }

// Backup writes a consistent copy of the node's database to w while the node runs: one read
// transaction's bbolt Tx.WriteTo (chainstate.Store.Backup), so blocks and transfers are committed
// meanwhile and the copy is the database exactly as of its start. begin is called with the
// copy's description (size, tip, genesis) before the first byte. The backup ends early with an
// error when ctx ends, when w fails, or when storage stops or restarts (the open read
// transaction would hold its close): the caller must not trust a copy unless the error is nil.
// ErrUnavailable while storage restarts.
func (n *Node) Backup(ctx context.Context, w io.Writer, begin func(chainstate.BackupInfo) error) (chainstate.BackupInfo, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Registered before the store is taken: storage's close unpublishes the store, then cancels
	// every registered backup, so a backup either sees no store or is cancelled.
	id := n.backups.add(cancel)
	defer n.backups.remove(id)
	s, err := n.store()
	if err != nil {
		return chainstate.BackupInfo{}, err
	}
	if a, ok := w.(Aborter); ok {
		stop := context.AfterFunc(ctx, a.Abort)
		defer stop()
	}
	info, err := s.Backup(&ctxWriter{ctx: ctx, w: w}, begin)
	if err != nil && ctx.Err() != nil {
		return info, fmt.Errorf("backup cancelled (client gone, or storage stopping): %w", err)
	}
	return info, err
}

// ctxWriter fails every Write once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// backupSet holds the cancel functions of the backups in flight.
type backupSet struct {
	mu      sync.Mutex
	next    uint64
	cancels map[uint64]context.CancelFunc // guarded by mu
}

func (b *backupSet) add(cancel context.CancelFunc) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cancels == nil {
		b.cancels = map[uint64]context.CancelFunc{}
	}
	b.next++
	b.cancels[b.next] = cancel
	return b.next
}

func (b *backupSet) remove(id uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.cancels, id)
}

// cancelAll cancels every backup in flight (storage is about to close the store).
func (b *backupSet) cancelAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.cancels {
		c()
	}
}
