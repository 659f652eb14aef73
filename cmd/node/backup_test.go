package main

import (
	"fmt"
	"github.com/actorchain/actorchain/internal/testutil"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
)

// backupHome initialises a home that mines fast on loopback ports and returns it with its API URL.
func backupHome(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	home, _ := initHome(t, dir, name)
	base := freePorts(t, 2)
	editConfig(t, home, func(c *config.Config) {
		c.P2P.Listen = fmt.Sprintf("127.0.0.1:%d", base)
		c.API.Listen = fmt.Sprintf("127.0.0.1:%d", base+1)
		c.Chain.PowBits = 8
		c.Mining.Workers = 1
	})
	return home, fmt.Sprintf("http://127.0.0.1:%d", base+1)
}

// homeParams loads a home's chain parameters as the node does.
func homeParams(t *testing.T, home string) (*config.Config, *chainstate.Params) {
	t.Helper()
	g := &globals{home: home}
	cfg, p, err := g.loadChain()
	if err != nil {
		t.Fatal(err)
	}
	return cfg, p
}

// TestDBBackupAndRestore: backups taken through a running node while it mines (found from the
// home's lock, and with --api) verify clean and hold the height they report; with the node
// stopped the file is copied directly; a restore refuses a running node, an existing database
// without --force, another chain's backup and a damaged one, and restores a backup that the node
// then runs on.
func TestDBBackupAndRestore(t *testing.T) {
	dir := t.TempDir()
	home, url := backupHome(t, dir, "a")
	cfg, params := homeParams(t, home)
	node := cliStart(t, "run", "--home", home)
	client := apiClient(t, url)
	height := func() uint64 {
		st, err := client.Status(reqCtx(t))
		if err != nil {
			return 0
		}
		return st.Height
	}
	testutil.WaitFor(t, 30*time.Second, "the node mines 5 blocks", func() bool {
		if node.exited() {
			t.Fatalf("node exited %d:\n%s", node.code, tail(node.err.String(), 20))
		}
		return height() >= 5
	})

	// Backups while the node mines.
	var last uint64
	for i := 0; i < 3; i++ {
		file := filepath.Join(dir, fmt.Sprintf("live-%d.db", i))
		args := []string{"db", "backup", file, "--home", home}
		if i == 2 {
			args = append(args, "--api", url)
		}
		res := decode[backupResult](t, cli(t, args...).want(t, exitOK))
		if res.Source != "api" || !res.Verified || res.Path != file || res.GenesisHash != params.GenesisHash().String() {
			t.Fatalf("backup %d: %+v", i, res)
		}
		if res.Height < last {
			t.Fatalf("backup %d at height %d, an earlier one at %d", i, res.Height, last)
		}
		last = res.Height
		rep, err := chainstate.Verify(file, params, time.Second)
		if err != nil || rep.Height != res.Height || rep.TipHash.String() != res.TipHash {
			t.Fatalf("backup %d: verify %+v, %v; the command said height %d tip %s", i, rep, err, res.Height, res.TipHash)
		}
		if st, _ := os.Stat(file); st == nil || st.Size() != res.Bytes {
			t.Fatalf("backup %d: file size %v, the command said %d", i, st, res.Bytes)
		}
	}
	testutil.WaitFor(t, 30*time.Second, "the node mines on after the backups", func() bool { return height() > last })
	live := filepath.Join(dir, "live-0.db")

	r := cli(t, "db", "backup", live, "--home", home)
	if r.code != exitFailure || !strings.Contains(r.err.String(), "--force") {
		t.Fatalf("backup over an existing file: exit %d, %s", r.code, r.err.String())
	}
	r = cli(t, "db", "restore", live, "--home", home, "--force")
	if r.code != exitFailure || !strings.Contains(r.err.String(), "stop the node") {
		t.Fatalf("restore under a running node: exit %d, %s", r.code, r.err.String())
	}
	if code := node.stop(t, 30*time.Second); code != exitOK {
		t.Fatalf("node exit %d", code)
	}

	// The node stopped: the command reads the file itself.
	final, err := chainstate.Verify(cfg.Storage.Path, params, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	off := decode[backupResult](t, cli(t, "db", "backup", filepath.Join(dir, "stopped.db"), "--home", home).want(t, exitOK))
	if off.Source != "file" || off.Height != final.Height || off.TipHash != final.TipHash.String() {
		t.Fatalf("offline backup %+v, the home is at %d %s", off, final.Height, final.TipHash)
	}

	// Restore.
	r = cli(t, "db", "restore", live, "--home", home)
	if r.code != exitFailure || !strings.Contains(r.err.String(), "--force") {
		t.Fatalf("restore over a database without --force: exit %d, %s", r.code, r.err.String())
	}
	otherHome, _ := backupHome(t, dir, "other") // a fresh devnet: another genesis
	_, otherParams := homeParams(t, otherHome)
	foreign := filepath.Join(dir, "foreign.db")
	cli(t, "db", "backup", foreign, "--home", otherHome).want(t, exitFailure) // it never ran: no database
	if _, err := chainstate.SaveBackup(foreign, otherParams, false, true, time.Second, func(w io.Writer) (chainstate.BackupInfo, error) {
		s, err := chainstate.Open(filepath.Join(dir, "other-db", "chain.db"), otherParams, time.Second)
		if err != nil {
			return chainstate.BackupInfo{}, err
		}
		defer s.Close()
		return s.Backup(w, nil)
	}); err != nil {
		t.Fatal(err)
	}
	r = cli(t, "db", "restore", foreign, "--home", home, "--force")
	if r.code != exitFailure || !strings.Contains(r.err.String(), "another chain") ||
		!strings.Contains(r.err.String(), params.GenesisHash().String()) || !strings.Contains(r.err.String(), otherParams.GenesisHash().String()) {
		t.Fatalf("restore of another chain's backup: exit %d, %s", r.code, r.err.String())
	}
	damaged := filepath.Join(dir, "damaged.db")
	b, _ := os.ReadFile(live)
	if err := os.WriteFile(damaged, b[:len(b)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if r = cli(t, "db", "restore", damaged, "--home", home, "--force"); r.code != exitFailure {
		t.Fatalf("restore of a damaged backup: exit %d", r.code)
	}
	if again, err := chainstate.Verify(cfg.Storage.Path, params, time.Second); err != nil || again.TipHash != final.TipHash {
		t.Fatalf("the refused restores changed the database: %+v %v", again, err)
	}

	want, _ := chainstate.Verify(live, params, time.Second)
	rep := decode[chainstate.RestoreReport](t, cli(t, "db", "restore", live, "--home", home, "--force").want(t, exitOK))
	if rep.Height != want.Height || rep.MovedAside == "" || rep.Path != cfg.Storage.Path {
		t.Fatalf("restore: %+v", rep)
	}
	if got, err := chainstate.Verify(rep.MovedAside, params, time.Second); err != nil || got.TipHash != final.TipHash {
		t.Fatalf("the replaced database was not kept: %+v %v", got, err)
	}
	// The node runs on the restored database and mines on from its tip.
	node = cliStart(t, "run", "--home", home)
	testutil.WaitFor(t, 30*time.Second, "the restored node mines past the backup's height", func() bool {
		if node.exited() {
			t.Fatalf("node exited %d:\n%s", node.code, tail(node.err.String(), 20))
		}
		return height() > want.Height
	})
	if code := node.stop(t, 30*time.Second); code != exitOK {
		t.Fatalf("node exit %d", code)
	}
	if _, err := chainstate.Verify(cfg.Storage.Path, params, time.Second); err != nil {
		t.Fatal(err)
	}
}
