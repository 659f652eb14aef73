package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/errcode"
)

// backupFake is the fake backend with a database copy: body is what Backup writes after begin;
// err, when set, is returned before begin (or after the body when late).
type backupFake struct {
	*fake
	body []byte
	err  error
	late bool
	slow time.Duration // per 1 KiB written
}

func (b *backupFake) Backup(ctx context.Context, w io.Writer, begin func(chainstate.BackupInfo) error) (chainstate.BackupInfo, error) {
	info := chainstate.BackupInfo{Bytes: int64(len(b.body)), Height: 42, TipHash: chainstate.Hash{7}, GenesisHash: b.params.GenesisHash()}
	if b.err != nil && !b.late {
		return info, b.err
	}
	if err := begin(info); err != nil {
		return info, err
	}
	for off := 0; off < len(b.body); off += 1024 {
		if b.slow > 0 {
			time.Sleep(b.slow) // a slow disk, not synchronisation
		}
		if _, err := w.Write(b.body[off:min(off+1024, len(b.body))]); err != nil {
			return info, err
		}
		if b.late && off >= len(b.body)/2 {
			return info, b.err
		}
	}
	return info, nil
}

var _ BackupBackend = (*backupFake)(nil)

func TestBackupEndpoint(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	t.Run("streams the copy with its headers, past the request time limit", func(t *testing.T) {
		f := &backupFake{fake: newFake(), body: body, slow: 2 * time.Millisecond} // ~130 ms
		srv := serve(t, NewHandler(f, Options{Timeout: 50 * time.Millisecond}))
		a := get(t, srv, BackupPath)
		if a.status != http.StatusOK || !bytes.Equal(a.raw, body) {
			t.Fatalf("status %d, %d bytes (want %d)", a.status, len(a.raw), len(body))
		}
		for k, want := range map[string]string{
			"Content-Type": "application/octet-stream", "Content-Length": strconv.Itoa(len(body)),
			HeaderChainID: f.params.ChainID, HeaderGenesisHash: f.params.GenesisHash().String(),
			HeaderHeight: "42", HeaderTipHash: (chainstate.Hash{7}).String(),
		} {
			if got := a.header.Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		// The client reads the same.
		var buf bytes.Buffer
		hd, err := NewClient(srv.URL, srv.Client()).Backup(context.Background(), &buf)
		if err != nil || hd.Height != 42 || hd.Bytes != int64(len(body)) || !bytes.Equal(buf.Bytes(), body) {
			t.Fatalf("client: %+v %v", hd, err)
		}
	})
	t.Run("an error before the first byte is JSON", func(t *testing.T) {
		f := &backupFake{fake: newFake(), err: fmt.Errorf("storage is restarting: %w", errUnavailable)}
		srv := serve(t, NewHandler(f, Options{}))
		wantError(t, get(t, srv, BackupPath), http.StatusServiceUnavailable, errcode.Busy, "restarting")
		_, err := NewClient(srv.URL, srv.Client()).Backup(context.Background(), io.Discard)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != errcode.Busy {
			t.Fatalf("client: %v", err)
		}
	})
	t.Run("a failure mid-copy is a short body the client refuses", func(t *testing.T) {
		f := &backupFake{fake: newFake(), body: body, err: errors.New("disk read error"), late: true}
		srv := serve(t, NewHandler(f, Options{}))
		var buf bytes.Buffer
		if _, err := NewClient(srv.URL, srv.Client()).Backup(context.Background(), &buf); err == nil {
			t.Fatalf("a cut copy of %d bytes was accepted", buf.Len())
		}
	})
	t.Run("other methods are 405, a backend without copies 404", func(t *testing.T) {
		srv := serve(t, NewHandler(&backupFake{fake: newFake(), body: body}, Options{}))
		for _, m := range []string{http.MethodHead, http.MethodPost, http.MethodDelete} {
			a := do(t, srv, m, BackupPath, nil)
			if a.status != http.StatusMethodNotAllowed || a.header.Get("Allow") != http.MethodGet {
				t.Errorf("%s: status %d, Allow %q", m, a.status, a.header.Get("Allow"))
			}
		}
		wantError(t, do(t, srv, http.MethodPost, BackupPath, nil), http.StatusMethodNotAllowed, errcode.MethodNotAllowed)
		wantError(t, get(t, srv, BackupPath+"/"), http.StatusNotFound, errcode.NotFound)
		plain := serve(t, NewHandler(newFake(), Options{}))
		wantError(t, get(t, plain, BackupPath), http.StatusNotFound, errcode.NotFound)
	})
}
