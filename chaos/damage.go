package chaos

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/actorchain/actorchain/chainstate"
)

// A damage fault is a disk that broke under a stopped node (CONTRACT §9): the node is stopped in
// order, its database file is damaged, and then:
//   - `node run` must refuse it: exit 1 with `damaged` and the path (at once, or within
//     damageRunBound when only the background page walk can find it), never serving it;
//   - `node db salvage` moves it aside and writes a new database from what is readable;
//   - the fault's end starts the node on the salvaged database, and it catches up from its peers
//     (the run's final checks: one tip, every transfer confirmed everywhere).
//
// Before the stop the load leaves the node, and every transfer it acknowledged that no other node
// knows yet is sent to another node (the same signed bytes, as a client whose node died would):
// the disk's loss must not break its senders' nonce sequence. The step's detail says how many.

// damageRunBound bounds `node run` on a damaged database: it must exit 1 within it.
const damageRunBound = 30 * time.Second

// rescueBound bounds the hand-over of a damaged node's transfers to the other nodes.
const rescueBound = 20 * time.Second

// notHandedOver is why a damage fault is skipped: some transfers only node k acknowledged could
// not be sent to another node within rescueBound (the others were down, in crash loops, cut off
// or refusing). Damaging that disk would lose acknowledged transfers by construction, which is a
// lost disk, not a fault the node could survive; so the node is left running and serves on.
type notHandedOver struct{ node, left int }

func (e *notHandedOver) Error() string {
	return fmt.Sprintf("%d transfers acknowledged only by node%d could not be handed to another node within %s", e.left, e.node, rescueBound)
}

// damage carries out the start of a damage fault on node k.
func (r *runner) damage(ctx context.Context, k int, how string, seed uint64) (string, error) {
	r.mu.Lock()
	r.down[k] = true // the load moves to other nodes
	r.mu.Unlock()
	rescued, err := r.rescueAcks(ctx, k)
	if err != nil {
		r.mu.Lock()
		r.down[k] = false // not stopped: it goes on serving
		r.mu.Unlock()
		return "", err
	}
	if err := r.stop(k); err != nil {
		return "", err
	}
	db := filepath.Join(r.homes[k].Dir, "data", "chain.db")
	what, err := damageFile(db, how, seed)
	if err != nil {
		return "", fmt.Errorf("damage %s: %w", db, err)
	}
	before, err := os.ReadFile(db)
	if err != nil {
		return "", err
	}
	refusal, err := r.refuses(ctx, k, db)
	if err != nil {
		return "", err
	}
	if after, err := os.ReadFile(db); err != nil || !bytes.Equal(before, after) {
		return "", fmt.Errorf("node run changed the damaged database %s", db)
	}
	out, err := r.node(ctx, "db", "salvage", "--home", r.homes[k].Dir)
	if err != nil {
		return "", fmt.Errorf("node db salvage: %w: %s", err, firstLine(out))
	}
	var salvage bytes.Buffer
	if json.Compact(&salvage, bytes.TrimSpace(out)) != nil {
		salvage.Reset()
		salvage.WriteString(firstLine(out))
	}
	return fmt.Sprintf("%s; %d transfers sent to other nodes first; node run refused it (%s); salvage: %s",
		what, rescued, refusal, salvage.String()), nil
}

// rescueAcks waits (bounded) until the other nodes know every transfer node k acknowledged, and
// sends those they still do not know to them. It returns how many it sent.
func (r *runner) rescueAcks(ctx context.Context, k int) (int, error) {
	r.mu.Lock()
	var mine []ack
	for _, a := range r.acks {
		if a.Node == k {
			mine = append(mine, a)
		}
	}
	r.mu.Unlock()
	known := func(h string) bool {
		for j := range r.homes {
			if j == k || !r.isUp(j) {
				continue
			}
			c, cancel := context.WithTimeout(ctx, submitTimeout)
			_, err := r.clients[j].Tx(c, h)
			cancel()
			if err == nil {
				return true
			}
		}
		return false
	}
	bound, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var left []ack
	_ = poll(bound, 200*time.Millisecond, func() bool {
		left = left[:0]
		for _, a := range mine {
			if !known(a.Hash) {
				left = append(left, a)
			}
		}
		mine = append(mine[:0], left...)
		return len(left) == 0
	})
	// The other nodes may all be down, frozen or refusing (a crash loop, a partition, failing
	// commits): the hand-over is bounded, and what it could not hand over is an error of the step.
	hand, cancelHand := context.WithTimeout(ctx, rescueBound)
	defer cancelHand()
	sent := 0
	for _, a := range left {
		r.mu.Lock()
		tx, ok := r.signed[a.Hash]
		r.mu.Unlock()
		if !ok {
			return sent, fmt.Errorf("transfer %s acknowledged by node%d: its bytes were not kept", a.Hash, k)
		}
		target := (k + 1) % len(r.homes)
		if _, _, ok := r.submit(hand, tx, &target); !ok {
			if ctx.Err() != nil {
				return sent, ctx.Err()
			}
			return sent, &notHandedOver{node: k, left: len(left) - sent}
		}
		sent++
	}
	return sent, nil
}

// stop stops node k in order (SIGTERM) and waits for it; it must exit 0.
func (r *runner) stop(k int) error {
	r.mu.Lock()
	p := r.procs[k]
	p.stopping = true
	r.mu.Unlock()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.Done():
	case <-time.After(stopBound):
		return fmt.Errorf("node%d did not stop within %s of SIGTERM", k, stopBound)
	}
	if p.Err() != nil {
		return fmt.Errorf("node%d's SIGTERM stop exited with %v", k, p.Err())
	}
	return nil
}

// damageFile breaks the database at path: "truncate" cuts it to half of the extent in use,
// "meta" overwrites both meta pages with random bytes, "pages" overwrites 8 live pages (drawn
// from seed) with random bytes. It says what it did.
func damageFile(path, how string, seed uint64) (string, error) {
	m, err := chainstate.Pages(path, 5*time.Second)
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	junk := func(page int) error {
		b := make([]byte, m.PageSize)
		_, _ = crand.Read(b)
		_, err := f.WriteAt(b, int64(page)*int64(m.PageSize))
		return err
	}
	switch how {
	case "truncate":
		st, err := f.Stat()
		if err != nil {
			return "", err
		}
		size := int64(m.HighWater) * int64(m.PageSize) / 2
		if size <= 0 || size >= st.Size() {
			// Truncating must cut the file: a size past its end would grow it (sparse) instead.
			return "", fmt.Errorf("half the extent in use (%d pages of %d bytes) is not inside the %d-byte file", m.HighWater, m.PageSize, st.Size())
		}
		return fmt.Sprintf("truncated to %d bytes, half the extent in use", size), f.Truncate(size)
	case "meta":
		return "both meta pages overwritten", errors.Join(junk(0), junk(1))
	case "pages":
		if len(m.Live) == 0 {
			return "", fmt.Errorf("no live page to damage")
		}
		rng := rand.New(rand.NewPCG(seed, 0x64616d61))
		var hit []int
		for _, i := range rng.Perm(len(m.Live))[:min(8, len(m.Live))] {
			if err := junk(m.Live[i]); err != nil {
				return "", err
			}
			hit = append(hit, m.Live[i])
		}
		return fmt.Sprintf("live pages %v overwritten", hit), f.Sync()
	}
	return "", fmt.Errorf("unknown damage %q", how)
}

// refuses runs `node run` on node k's damaged home: it must exit 1 within damageRunBound, saying
// `damaged` and naming the database.
func (r *runner) refuses(ctx context.Context, k int, db string) (string, error) {
	c, cancel := context.WithTimeout(ctx, damageRunBound)
	defer cancel()
	argv := []string{r.cfg.Exe, "run", "--home", r.homes[k].Dir}
	argv = r.links.Command(k, argv)
	cmd := exec.CommandContext(c, argv[0], argv[1:]...)
	cmd.Env = r.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	began := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(began)
	var ee *exec.ExitError
	switch {
	case c.Err() != nil:
		return "", fmt.Errorf("node run served the damaged database for %s", damageRunBound)
	case !errors.As(err, &ee) || ee.ExitCode() != 1:
		return "", fmt.Errorf("node run on the damaged database: %v, want exit 1: %s", err, firstLine(out))
	case !strings.Contains(strings.ToLower(string(out)), "damaged") || !strings.Contains(string(out), db):
		return "", fmt.Errorf("node run's refusal does not say damaged and name %s: %s", db, firstLine(out))
	case strings.Contains(string(out), "goroutine ") || strings.Contains(string(out), "panic: "):
		return "", fmt.Errorf("node run printed a Go stack trace: %s", firstLine(out))
	}
	return fmt.Sprintf("exit 1 after %.1fs", took.Seconds()), nil
}

// node runs the node binary with args and returns its output.
func (r *runner) node(ctx context.Context, args ...string) ([]byte, error) {
	c, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(c, r.cfg.Exe, args...)
	cmd.Env = r.env
	return cmd.CombinedOutput()
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
