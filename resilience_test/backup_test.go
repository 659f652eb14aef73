package resilience_test

import (
	"bytes"
	"context"
	"errors"
	"github.com/actorchain/actorchain/internal/testutil"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
)

// stallWriter is a backup destination whose reader has stopped reading: its first Write blocks
// until Abort (actors.Aborter) or, as a bound for a broken test, until limit passes.
type stallWriter struct {
	started   chan struct{}
	startOnce sync.Once
	aborted   chan struct{}
	abortOnce sync.Once
	limit     time.Duration
}

func newStallWriter(limit time.Duration) *stallWriter {
	return &stallWriter{started: make(chan struct{}), aborted: make(chan struct{}), limit: limit}
}

func (w *stallWriter) Write(p []byte) (int, error) {
	w.startOnce.Do(func() { close(w.started) })
	select {
	case <-w.aborted:
		return 0, errors.New("aborted")
	case <-time.After(w.limit):
		return 0, errors.New("stalled write was never aborted")
	}
}

func (w *stallWriter) Abort() { w.abortOnce.Do(func() { close(w.aborted) }) }

var _ actors.Aborter = (*stallWriter)(nil)

// TestBackupStalledReaderDoesNotHoldStorage: a backup whose reader stalls holds a read
// transaction, which would hold storage's close for ever. A storage crash cancels it: the backup
// fails at once, storage restarts, the node mines on; then a stop with another stalled backup in
// flight completes in order.
func TestBackupStalledReaderDoesNotHoldStorage(t *testing.T) {
	h := newHome(t, func(c *config.Config) {
		c.Debug.FaultInjection = true
		c.Mining.Workers = 1
	})
	nd := h.start(t, actors.Options{})
	nd.waitHeight(3, 20*time.Second)

	run := func() (*stallWriter, chan error) {
		w := newStallWriter(30 * time.Second)
		done := make(chan error, 1)
		go func() {
			_, err := nd.n.Backup(context.Background(), w, nil)
			done <- err
		}()
		select {
		case <-w.started:
		case err := <-done:
			t.Fatalf("backup ended before its first write: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("backup did not start writing")
		}
		return w, done
	}

	_, done := run()
	restarts := func() int {
		s, _ := treeNode(nd.n.Actors(), "storage")
		return s.Restarts
	}
	before := restarts()
	if err := nd.n.CrashActor("storage"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a backup cut by a storage restart reported success")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stalled backup was not cancelled by the storage restart")
	}
	var h0 uint64
	testutil.WaitFor(t, 10*time.Second, "storage restarted and serving", func() bool {
		st, err := nd.n.Status(context.Background())
		h0 = st.Height
		return restarts() > before && err == nil
	})
	nd.waitHeight(h0+2, 20*time.Second)

	_, done = run()
	stopped := make(chan struct{})
	go func() {
		nd.stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(15 * time.Second):
		t.Fatal("the node did not stop with a stalled backup in flight")
	}
	if err := <-done; err == nil {
		t.Fatal("a backup cut by the stop reported success")
	}
	if _, err := chainstate.Verify(h.cfg.Storage.Path, mustParams(t, h.cfg), time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestBackupEndpointWhileMining: GET /v1/db/backup while the node mines answers a copy whose
// headers describe it exactly, and that verifies clean; the node kept mining meanwhile; a wrong
// method is 405 JSON; a client that goes away mid-copy leaves the node serving.
func TestBackupEndpointWhileMining(t *testing.T) {
	h := newHome(t, func(c *config.Config) { c.Mining.Workers = 1 })
	nd := h.start(t, actors.Options{})
	nd.waitHeight(5, 20*time.Second)
	params := mustParams(t, h.cfg)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := api.NewClient("http://"+nd.n.APIAddr(), &http.Client{Transport: tr})
	dir := t.TempDir()
	var last uint64
	for i := 0; i < 5; i++ {
		var buf bytes.Buffer
		hd, err := c.Backup(context.Background(), &buf)
		if err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		if hd.GenesisHash != params.GenesisHash().String() || hd.ChainID != params.ChainID || int64(buf.Len()) != hd.Bytes || hd.Height < last {
			t.Fatalf("backup %d: header %+v, %d bytes, previous height %d", i, hd, buf.Len(), last)
		}
		last = hd.Height
		file := filepath.Join(dir, "copy.db")
		if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := chainstate.Check(file, params, time.Second)
		if err != nil || !rep.OK {
			t.Fatalf("backup %d does not check: %+v %v", i, rep, err)
		}
		got, err := chainstate.Verify(file, params, time.Second)
		if err != nil || got.Height != hd.Height || got.TipHash.String() != hd.TipHash {
			t.Fatalf("backup %d: verify %+v %v, header %+v", i, got, err, hd)
		}
	}
	nd.waitHeight(last+3, 20*time.Second)

	resp, err := (&http.Client{Transport: tr}).Post("http://"+nd.n.APIAddr()+api.BackupPath, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || !bytes.Contains(body, []byte(`"method_not_allowed"`)) {
		t.Fatalf("POST backup: %d %s", resp.StatusCode, body)
	}

	// A client that reads a little and goes away.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+nd.n.APIAddr()+api.BackupPath, nil)
	resp, err = (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	h0 := nd.status().Height
	nd.waitHeight(h0+2, 20*time.Second)
	if _, err := c.Backup(context.Background(), io.Discard); err != nil {
		t.Fatalf("backup after a client went away: %v", err)
	}
}

func mustParams(t *testing.T, cfg *config.Config) *chainstate.Params {
	t.Helper()
	p, err := actors.ParamsFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
