package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testutil"
)

// cliRun is one in-process command line: its output, and the channel standing for SIGINT/SIGTERM.
type cliRun struct {
	out, err testutil.LogBuffer
	sigs     chan os.Signal
	code     int
	done     chan struct{}
}

func (r *cliRun) io() cliIO {
	return cliIO{
		out: &r.out, err: &r.err,
		signals: func() (<-chan os.Signal, func()) { return r.sigs, func() {} },
	}
}

// cli runs args to completion and returns the run.
func cli(t *testing.T, args ...string) *cliRun {
	t.Helper()
	r := &cliRun{sigs: make(chan os.Signal, 2), done: make(chan struct{})}
	r.code = runCLI(args, r.io())
	close(r.done)
	return r
}

// cliStart runs args in the background (a node or a devnet); stop it with signal and wait.
func cliStart(t *testing.T, args ...string) *cliRun {
	t.Helper()
	r := &cliRun{sigs: make(chan os.Signal, 2), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.code = runCLI(args, r.io())
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.sigs <- syscall.SIGTERM
			<-r.done
		}
	})
	return r
}

// stop sends SIGTERM and waits (with a deadline) for the command's exit code.
func (r *cliRun) stop(t *testing.T, limit time.Duration) int {
	t.Helper()
	r.sigs <- syscall.SIGTERM
	select {
	case <-r.done:
		return r.code
	case <-time.After(limit):
		t.Fatalf("command did not exit within %s of SIGTERM; stderr:\n%s", limit, tail(r.err.String(), 30))
		return -1
	}
}

// exited reports whether the command has returned.
func (r *cliRun) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// want checks the exit code and returns stdout.
func (r *cliRun) want(t *testing.T, code int) string {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.out.String(), tail(r.err.String(), 30))
	}
	return r.out.String()
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// decode unmarshals the JSON s into a value of type T.
func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("output is not the expected JSON: %v\n%s", err, s)
	}
	return v
}

// freePorts returns the first of n consecutive loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for attempt := 0; attempt < 100; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if base+n > 65535 {
			continue
		}
		var held []net.Listener
		ok := true
		for i := 0; i < n; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				break
			}
			held = append(held, l)
		}
		for _, l := range held {
			_ = l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no run of free loopback ports")
	return 0
}

// apiClient is a client of a node under test whose idle connections are closed at the end (no
// goroutine outlives the test). The CLI's own clients use the default transport, so it is
// cleaned up too.
func apiClient(t *testing.T, url string) *api.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	t.Cleanup(http.DefaultTransport.(*http.Transport).CloseIdleConnections)
	return api.NewClient(url, &http.Client{Transport: tr, Timeout: 5 * time.Second})
}

func reqCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// initHome runs `node init --home DIR/name [args]` and returns the home and init's answer.
func initHome(t *testing.T, dir, name string, args ...string) (string, initAnswer) {
	t.Helper()
	home := filepath.Join(dir, name)
	out := cli(t, append([]string{"init", "--home", home}, args...)...).want(t, exitOK)
	return home, decode[initAnswer](t, out)
}

type initAnswer struct {
	Home          string `json:"home"`
	NodeID        string `json:"node_id"`
	GenesisHash   string `json:"genesis_hash"`
	WalletAddress string `json:"wallet_address"`
	MinerAddress  string `json:"miner_address"`
}

// editConfig loads HOME's node.yaml (without the environment), applies edit and writes it back.
func editConfig(t *testing.T, home string, edit func(*config.Config)) {
	t.Helper()
	file := filepath.Join(home, config.FileName)
	cfg, err := config.Load(home, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	edit(cfg)
	if err := writeHomeConfig(file, cfg); err != nil {
		t.Fatal(err)
	}
}
