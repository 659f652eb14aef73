package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/actorchain/actorchain/chainstate"
)

// BackupPath is the endpoint that streams a consistent copy of the node's database.
const BackupPath = "/v1/db/backup"

// The headers of a backup answer, besides Content-Length (the copy's exact size).
const (
	HeaderChainID     = "X-Actorchain-Chain-Id"
	HeaderGenesisHash = "X-Actorchain-Genesis-Hash"
	HeaderHeight      = "X-Actorchain-Height"
	HeaderTipHash     = "X-Actorchain-Tip-Hash"
)

// backupStall bounds each write of a backup answer: a client that reads nothing for this long
// is dropped, so that it cannot hold the copy's read transaction (which holds back a growing
// database's remap and storage's close).
const backupStall = 10 * time.Second

// BackupBackend is implemented by a Backend that can stream a consistent copy of its database
// (the node). GET /v1/db/backup answers 404 for a Backend without it.
type BackupBackend interface {
	Backup(ctx context.Context, w io.Writer, begin func(chainstate.BackupInfo) error) (chainstate.BackupInfo, error)
}

// isBackup reports whether r is the backup request, which runs outside the per-request timeout
// (it streams for as long as the copy takes; each write is bounded by backupStall instead).
func isBackup(r *http.Request) bool {
	return r.URL.Path == BackupPath && r.Method == http.MethodGet && canonicalPath(r.URL.EscapedPath())
}

// backup serves GET /v1/db/backup: 200 application/octet-stream, the database copy, with its
// size as Content-Length and its chain, genesis hash, height and tip in the X-Actorchain-*
// headers. Errors before the first byte are the usual JSON errors (503 busy while storage
// restarts); a failure after it cuts the body short of Content-Length, which every client sees as
// an unexpected EOF.
func (h *handler) backup(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet { // HEAD: the copy would be made only to be thrown away
		methodNotAllowed(w, r, http.MethodGet)
		return
	}
	bb := h.copier
	if bb == nil {
		notFound(w, r)
		return
	}
	bw := &backupWriter{w: w, rc: http.NewResponseController(w)}
	started := false
	info, err := bb.Backup(r.Context(), bw, func(info chainstate.BackupInfo) error {
		hd := w.Header()
		hd.Set("Content-Type", "application/octet-stream")
		hd.Set("Content-Length", strconv.FormatInt(info.Bytes, 10))
		hd.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="actorchain-%d.db"`, info.Height))
		hd.Set("Cache-Control", "no-store")
		hd.Set(HeaderChainID, h.read.Params().ChainID)
		hd.Set(HeaderGenesisHash, info.GenesisHash.String())
		hd.Set(HeaderHeight, strconv.FormatUint(info.Height, 10))
		hd.Set(HeaderTipHash, info.TipHash.String())
		started = true
		w.WriteHeader(http.StatusOK)
		return nil
	})
	switch {
	case err == nil:
		h.log.Info("backup served", "height", info.Height, "bytes", info.Bytes, "remote", r.RemoteAddr)
	case !started:
		h.fail(w, r, err)
	default:
		h.log.Warn("backup cut short", "height", info.Height, "bytes", info.Bytes, "remote", r.RemoteAddr, "err", err)
	}
}

// backupWriter writes a backup answer: each write gets backupStall from now, replacing the
// server's WriteTimeout for this long answer; Abort (the node's Aborter) makes the current and every
// later write fail at once.
type backupWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	aborted atomic.Bool
}

func (b *backupWriter) Write(p []byte) (int, error) {
	if b.aborted.Load() {
		return 0, errBackupAborted
	}
	if err := b.rc.SetWriteDeadline(time.Now().Add(backupStall)); err != nil {
		return 0, err
	}
	return b.w.Write(p)
}

// Abort implements the node's Aborter interface.
func (b *backupWriter) Abort() {
	b.aborted.Store(true)
	_ = b.rc.SetWriteDeadline(time.Now())
}

var errBackupAborted = fmt.Errorf("backup aborted")

// BackupHeader is what a backup answer says about the copy it streams.
type BackupHeader struct {
	Bytes       int64
	ChainID     string
	GenesisHash string
	Height      uint64
	TipHash     string
}

// backupIdle bounds the time Client.Backup waits for the next bytes of the copy.
const backupIdle = 60 * time.Second

// Backup streams the node's database copy (GET /v1/db/backup) into w and returns what the answer
// said about it. It fails unless exactly Content-Length bytes arrive. The copy is not bounded in
// time as a whole (the http.Client's Timeout, if any, still applies: give a client without one
// for large databases); it fails when no byte arrives for a minute.
func (c *Client) Backup(ctx context.Context, w io.Writer) (BackupHeader, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+BackupPath, nil)
	if err != nil {
		return BackupHeader{}, err
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return BackupHeader{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		return BackupHeader{}, answerError(res.StatusCode, data)
	}
	hd := BackupHeader{
		Bytes: res.ContentLength, ChainID: res.Header.Get(HeaderChainID),
		GenesisHash: res.Header.Get(HeaderGenesisHash), TipHash: res.Header.Get(HeaderTipHash),
	}
	hd.Height, err = strconv.ParseUint(res.Header.Get(HeaderHeight), 10, 64)
	if err != nil || hd.Bytes <= 0 || hd.GenesisHash == "" {
		return hd, fmt.Errorf("GET %s: not a backup answer (Content-Length %d, %s %q, %s %q)", BackupPath,
			hd.Bytes, HeaderHeight, res.Header.Get(HeaderHeight), HeaderGenesisHash, hd.GenesisHash)
	}
	idle := time.AfterFunc(backupIdle, cancel)
	defer idle.Stop()
	n, err := io.Copy(w, &idleReader{r: res.Body, t: idle})
	if err != nil {
		return hd, fmt.Errorf("GET %s: after %d of %d bytes: %w", BackupPath, n, hd.Bytes, err)
	}
	if n != hd.Bytes {
		return hd, fmt.Errorf("GET %s: got %d of %d bytes", BackupPath, n, hd.Bytes)
	}
	return hd, nil
}

// idleReader restarts t (which cancels the request) at every read that returns bytes.
type idleReader struct {
	r io.Reader
	t *time.Timer
}

func (i *idleReader) Read(p []byte) (int, error) {
	n, err := i.r.Read(p)
	if n > 0 {
		i.t.Reset(backupIdle)
	}
	return n, err
}
