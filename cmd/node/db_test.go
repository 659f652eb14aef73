package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testutil"
)

// stackTrace matches the lines of a Go stack trace (as the damaged-db acceptance script does).
var stackTrace = regexp.MustCompile(`(?m)^(panic: |fatal error: |unexpected fault address|goroutine [0-9]+ \[)|\.go:[0-9]+ \+0x`)

// dbHome initialises a home whose database holds the genesis block and 40 address-book entries
// (so that the peers bucket has a page of its own), with the node's ports on loopback port 0 and
// mining off; it returns the home, the database path and the page of the peers bucket.
func dbHome(t *testing.T) (home, path string, peersPage uint64, psize int) {
	t.Helper()
	home, _ = initHome(t, t.TempDir(), "h")
	editConfig(t, home, func(c *config.Config) {
		c.P2P.Listen = "127.0.0.1:0"
		c.API.Listen = "127.0.0.1:0"
		c.Mining.Enabled = false
	})
	cfg, err := config.Load(home, filepath.Join(home, config.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	params, err := actors.ParamsFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := chainstate.Open(cfg.Storage.Path, params, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var peers []chainstate.PeerRecord
	for i := range 40 {
		peers = append(peers, chainstate.PeerRecord{ID: [32]byte{byte(i), 9}, Addr: fmt.Sprintf("10.1.0.%d:7000", i)})
	}
	if err := s.PutPeers(peers, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(s.Path(), 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		peersPage = uint64(tx.Bucket([]byte("peers")).Root())
		return nil
	})
	if err != nil || peersPage == 0 {
		t.Fatalf("peers bucket page %d: %v", peersPage, err)
	}
	return home, s.Path(), peersPage, db.Info().PageSize
}

// TestDBDamagedCommands: on each damaged database `node run` and `node verify` exit 1 naming the
// database as damaged without a stack trace, `node db check` exits 1 with {"ok": false,
// "problems": [...]}, and none changes the file; `node db salvage` then moves it aside unchanged
// and leaves a database that verifies and checks clean.
func TestDBDamagedCommands(t *testing.T) {
	junk := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*131 + 7)
		}
		return b
	}
	kinds := []struct {
		name string
		do   func(data []byte, peersPage uint64, ps int) []byte
	}{
		{"truncated to half", func(d []byte, _ uint64, _ int) []byte { return d[:len(d)/2] }},
		{"meta pages zeroed", func(d []byte, _ uint64, ps int) []byte { clear(d[:2*ps]); return d }},
		// The peers page is not read at open: the background page walk finds it after the start.
		{"peers page overwritten", func(d []byte, pg uint64, ps int) []byte {
			copy(d[int(pg)*ps:], junk(ps))
			return d
		}},
		{"all zeros", func(d []byte, _ uint64, _ int) []byte { clear(d); return d }},
		{"empty", func(d []byte, _ uint64, _ int) []byte { return nil }},
		{"text", func(d []byte, _ uint64, _ int) []byte { return []byte("not a database\n") }},
		{"sqlite", func(d []byte, _ uint64, _ int) []byte {
			return append([]byte("SQLite format 3\x00"), make([]byte, 8192)...)
		}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			home, path, pg, ps := dbHome(t)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, k.do(data, pg, ps), 0o600); err != nil {
				t.Fatal(err)
			}
			before := testutil.FileSum(t, path)
			refused := func(what string, r *cliRun) {
				t.Helper()
				out := r.out.String() + r.err.String()
				if r.code != exitFailure {
					t.Fatalf("%s exited %d, want 1:\n%s", what, r.code, tail(out, 20))
				}
				if m := stackTrace.FindString(out); m != "" {
					t.Fatalf("%s printed a stack trace (%q):\n%s", what, m, tail(out, 20))
				}
				if testutil.FileSum(t, path) != before {
					t.Fatalf("%s changed the damaged file", what)
				}
			}
			named := func(what string, r *cliRun) {
				t.Helper()
				if out := r.out.String() + r.err.String(); !strings.Contains(strings.ToLower(out), "damaged") || !strings.Contains(out, path) {
					t.Fatalf("%s does not name %s as damaged:\n%s", what, path, tail(out, 20))
				}
			}

			run := cliStart(t, "run", "--home", home)
			select {
			case <-run.done:
			case <-time.After(20 * time.Second):
				t.Fatalf("node run still runs 20 s after start on a damaged database:\n%s", tail(run.err.String(), 20))
			}
			refused("run", run)
			named("run", run)

			v := cli(t, "verify", "--home", home)
			refused("verify", v)
			named("verify", v)

			c := cli(t, "db", "check", "--home", home)
			refused("db check", c)
			rep := decode[chainstate.CheckReport](t, c.out.String())
			if rep.OK || len(rep.Problems) == 0 || rep.Path != path {
				t.Fatalf("db check printed %+v", rep)
			}

			s := cli(t, "db", "salvage", "--home", home)
			srep := decode[map[string]any](t, s.want(t, exitOK))
			for _, f := range []string{"moved_aside", "height", "blocks_recovered", "peers_recovered", "mempool_recovered"} {
				if _, ok := srep[f]; !ok {
					t.Fatalf("db salvage printed no %q: %v", f, srep)
				}
			}
			aside, _ := srep["moved_aside"].(string)
			if !regexp.MustCompile(`^`+regexp.QuoteMeta(path)+`\.damaged-[0-9]+$`).MatchString(aside) || testutil.FileSum(t, aside) != before {
				t.Fatalf("moved_aside %q is not the damaged file at <path>.damaged-<unix seconds>", aside)
			}
			cli(t, "verify", "--home", home).want(t, exitOK)
			clean := decode[chainstate.CheckReport](t, cli(t, "db", "check", "--home", home).want(t, exitOK))
			if !clean.OK || clean.Pages == 0 || len(clean.Problems) != 0 {
				t.Fatalf("db check after salvage: %+v", clean)
			}
		})
	}
}
