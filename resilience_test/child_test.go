package resilience_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testutil"
)

// childHomeEnv makes the test binary run a node on that home instead of tests, so a test can kill
// a real node process with SIGKILL.
const childHomeEnv = "RESILIENCE_CHILD_HOME"

// childTraceFile is the name, in the child's home, of the commit trace (actors.Options.CommitTrace)
// a child appends to when the home has a file of that name when it starts.
const childTraceFile = "commits.trace"

// runChild runs a node on $RESILIENCE_CHILD_HOME (its node.yaml) until SIGTERM, writing the API
// address to HOME/api.addr once it listens.
func runChild() int {
	home := os.Getenv(childHomeEnv)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	cfg, err := config.Load(home, "", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var trace io.Writer
	if f, err := os.OpenFile(filepath.Join(home, childTraceFile), os.O_WRONLY|os.O_APPEND, 0); err == nil {
		defer f.Close()
		trace = f
	}
	n, err := actors.Start(cfg, actors.Options{
		Logger:      log,
		CommitTrace: trace,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	tmp := filepath.Join(home, "api.addr.tmp")
	if err := os.WriteFile(tmp, []byte(n.APIAddr()), 0o644); err == nil {
		_ = os.Rename(tmp, filepath.Join(home, "api.addr"))
	}
	select {
	case <-sigs:
	case <-n.Done():
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Stop(ctx); err != nil {
		return 1
	}
	if n.Err() != nil {
		return 1
	}
	return 0
}

// child is a node running in a child process.
type child struct {
	cmd  *exec.Cmd
	api  *api.Client
	logs *testutil.LogBuffer
	done chan error
}

// startChild writes the home's config to its node.yaml and starts a node process on it.
func (h *home) startChild(t testing.TB) *child {
	t.Helper()
	if err := config.Write(filepath.Join(h.dir, "node.yaml"), h.cfg); err != nil {
		t.Fatalf("write config: %v", err)
	}
	addrFile := filepath.Join(h.dir, "api.addr")
	_ = os.Remove(addrFile)
	c := &child{logs: &testutil.LogBuffer{}, done: make(chan error, 1)}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(), childHomeEnv+"="+h.dir)
	c.cmd.Stderr = c.logs
	c.cmd.Stdout = c.logs
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() { c.kill() })
	var addr string
	testutil.WaitFor(t, 30*time.Second, "the child node's API address", func() bool {
		select {
		case err := <-c.done:
			c.done <- err
			t.Fatalf("child exited early (%v): %s", err, c.logs.Tail())
		default:
		}
		b, err := os.ReadFile(addrFile)
		addr = strings.TrimSpace(string(b))
		return err == nil && addr != ""
	})
	c.api = api.NewClient("http://"+addr, &http.Client{Timeout: 10 * time.Second})
	return c
}

// kill sends SIGKILL and waits for the process (idempotent).
func (c *child) kill() {
	if c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Kill()
	err := <-c.done
	c.done <- err
}
