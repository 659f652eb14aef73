package perf

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/config"
)

// Lab owns everything a run starts: node homes under one temporary directory, in-process nodes
// and child node processes. Close stops and removes all of it.
type Lab struct {
	dir   string
	log   *slog.Logger
	child ChildCommand
	node  NodeCommand

	mu       sync.Mutex
	closed   bool                // Close has run: nothing new may start (guarded by mu)
	nodes    []*actors.Node      // running in-process nodes (guarded by mu)
	children []*Child            // started child processes (guarded by mu)
	fixtures map[[2]int]*fixture // by transfers and block size
	lastSync string              // where the last in-process sync's time went (its note)
}

// ChildCommand returns the command that runs a node on home as its own process until SIGTERM
// (exit 0 after an ordered stop). DefaultChild runs `node run`.
type ChildCommand func(home string) (*exec.Cmd, error)

// DefaultChild runs this executable as `node run --home HOME --log-format json`: right when the
// running program is the node binary (`node bench`).
func DefaultChild(home string) (*exec.Cmd, error) {
	return DefaultNode("run", "--home", home, "--log-format", "json")
}

func newLab(log *slog.Logger, child ChildCommand, node NodeCommand) (*Lab, error) {
	dir, err := os.MkdirTemp("", "actorchain-bench-")
	if err != nil {
		return nil, err
	}
	if node == nil {
		node = DefaultNode
	}
	if child == nil {
		child = func(home string) (*exec.Cmd, error) { return node("run", "--home", home, "--log-format", "json") }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Lab{dir: dir, log: log, child: child, node: node, fixtures: map[[2]int]*fixture{}}, nil
}

// errClosed is returned when a node is started after Close (the run was cancelled).
var errClosed = errors.New("the benchmark run was cancelled")

// Close stops every node and child still running and removes the lab's directory; nothing can be
// started afterwards. It may be called from another goroutine than the measurement's (a
// cancelled run), and more than once.
func (l *Lab) Close() error {
	l.mu.Lock()
	l.closed = true
	nodes, children := l.nodes, l.children
	l.nodes, l.children = nil, nil
	l.mu.Unlock()
	var errs []error
	for _, c := range children {
		c.Kill()
	}
	for _, n := range nodes {
		if err := stopNode(n); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, os.RemoveAll(l.dir))
	return errors.Join(errs...)
}

// Home is a node home made by the lab, with its configuration kept in memory.
type Home struct {
	Dir string
	Cfg *config.Config
	lab *Lab
}

// NewHome initialises a devnet home with the API on a free loopback port, networking and mining
// off and 2 mining workers; edit changes the config before it is written.
func (l *Lab) NewHome(edit func(*config.Config)) (*Home, error) {
	dir, err := os.MkdirTemp(l.dir, "home-")
	if err != nil {
		return nil, err
	}
	cfgFile := filepath.Join(dir, config.FileName)
	if _, err := actors.InitHome(dir, cfgFile, "", true); err != nil {
		return nil, fmt.Errorf("init home: %w", err)
	}
	cfg, err := config.Load(dir, cfgFile, nil)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	cfg.API.Listen = "127.0.0.1:0"
	cfg.P2P.Listen = ""
	cfg.Mining.Enabled = false
	cfg.Mining.Workers = 2
	cfg.Storage.OpenTimeout = 5 * time.Second
	cfg.Log.Format = "json"
	if edit != nil {
		edit(cfg)
	}
	h := &Home{Dir: dir, Cfg: cfg, lab: l}
	return h, h.write()
}

// Join makes a home of src's chain (the same chain section); edit as in NewHome.
func (l *Lab) Join(src *Home, edit func(*config.Config)) (*Home, error) {
	h, err := l.NewHome(edit)
	if err != nil {
		return nil, err
	}
	h.Cfg.Chain = src.Cfg.Chain.Clone()
	return h, h.write()
}

func (h *Home) write() error {
	if err := config.Write(filepath.Join(h.Dir, config.FileName), h.Cfg); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// dbPath is the home's database file.
func (h *Home) dbPath() string {
	if filepath.IsAbs(h.Cfg.Storage.Path) {
		return h.Cfg.Storage.Path
	}
	return filepath.Join(h.Dir, h.Cfg.Storage.Path)
}

// copyDB gives h a copy of src's database (src must be stopped): a node holding a long chain
// without verifying it again.
func (h *Home) copyDB(src *Home) error {
	data, err := os.ReadFile(src.dbPath())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(h.dbPath()), 0o700); err != nil {
		return err
	}
	return os.WriteFile(h.dbPath(), data, 0o600)
}

// Start runs the home's node in this process; the lab stops it on Close unless Stop came first.
func (h *Home) Start(opts actors.Options) (*actors.Node, error) {
	if err := h.write(); err != nil {
		return nil, err
	}
	l := h.lab
	opts.Logger = l.log
	n, err := actors.Start(h.Cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	l.mu.Lock()
	closed := l.closed
	if !closed {
		l.nodes = append(l.nodes, n)
	}
	l.mu.Unlock()
	if closed {
		return nil, errors.Join(errClosed, stopNode(n))
	}
	return n, nil
}

// Stop stops an in-process node in order.
func (l *Lab) Stop(n *actors.Node) error {
	l.mu.Lock()
	for i, m := range l.nodes {
		if m == n {
			l.nodes = append(l.nodes[:i], l.nodes[i+1:]...)
			break
		}
	}
	l.mu.Unlock()
	return stopNode(n)
}

func stopNode(n *actors.Node) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return n.Stop(ctx)
}

// Child is a node running in a child process.
type Child struct {
	Cmd  *exec.Cmd
	API  *api.Client
	logs syncBuffer
	done chan struct{} // closed when the process has been waited for
	err  error         // Wait's result, set before done closes
}

// StartChild writes the home's config with the API on a free loopback port, starts the node
// process on it and waits (up to 30 s) until its API answers.
func (h *Home) StartChild() (*Child, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	h.Cfg.API.Listen = port
	if err := h.write(); err != nil {
		return nil, err
	}
	cmd, err := h.lab.child(h.Dir)
	if err != nil {
		return nil, err
	}
	cmd.Env = childEnv(cmd.Env)
	c := &Child{Cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &c.logs, &c.logs
	if err := h.lab.startTracked(c); err != nil {
		return nil, fmt.Errorf("start child node: %w", err)
	}
	c.API = api.NewClient("http://"+port, &http.Client{Timeout: 5 * time.Second})
	err = h.lab.poll(30*time.Second, "the child node's API", func() bool {
		select {
		case <-c.done:
			return true
		default:
		}
		_, err := c.API.Status(context.Background())
		return err == nil
	})
	select {
	case <-c.done:
		return nil, fmt.Errorf("child node exited early (%v): %s", c.err, c.logs.tail())
	default:
	}
	if err != nil {
		c.Kill()
		return nil, err
	}
	return c, nil
}

// startTracked starts c's process and its waiter, and records c for Close (which kills it); after
// Close it kills c at once and returns errClosed.
func (l *Lab) startTracked(c *Child) error {
	if err := c.Cmd.Start(); err != nil {
		return err
	}
	go func() { // owned by c: joined by Wait/Kill
		c.err = c.Cmd.Wait()
		close(c.done)
	}()
	l.mu.Lock()
	closed := l.closed
	if !closed {
		l.children = append(l.children, c)
	}
	l.mu.Unlock()
	if closed {
		c.Kill()
		return errClosed
	}
	return nil
}

// childEnv is env (or this process's environment) without ACTORCHAIN_* overrides, so that a
// child runs exactly its home's config.
func childEnv(env []string) []string {
	if env == nil {
		env = os.Environ()
	}
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "ACTORCHAIN_") {
			out = append(out, kv)
		}
	}
	return out
}

// Terminate sends SIGTERM and waits up to d for the process to exit, returning the time from the
// signal to the exit and its exit error.
func (c *Child) Terminate(d time.Duration) (time.Duration, error) {
	t0 := time.Now()
	if err := c.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	select {
	case <-c.done:
		return time.Since(t0), c.err
	case <-time.After(d):
		c.Kill()
		return 0, fmt.Errorf("the child did not exit within %v of SIGTERM: %s", d, c.logs.tail())
	}
}

// Kill sends SIGKILL and waits for the process (idempotent).
func (c *Child) Kill() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.Cmd.Process.Kill()
	<-c.done
}

// memKiB reads VmHWM (peak resident) and VmRSS of the child from /proc, in KiB.
func (c *Child) memKiB() (hwm, rss uint64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.Cmd.Process.Pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read the child's memory: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmHWM:":
			_, err = fmt.Sscan(f[1], &hwm)
		case "VmRSS:":
			_, err = fmt.Sscan(f[1], &rss)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("parse %q: %w", line, err)
		}
	}
	if hwm == 0 || rss == 0 {
		return 0, 0, errors.New("no VmHWM/VmRSS in /proc/<pid>/status")
	}
	return hwm, rss, nil
}

// syncBuffer is a goroutine-safe buffer for a child's output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// since returns the output from offset off on (the whole lines only) and the offset after them.
func (b *syncBuffer) since(off int) (string, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data := b.buf.Bytes()
	if off >= len(data) {
		return "", off
	}
	end := bytes.LastIndexByte(data[off:], '\n')
	if end < 0 {
		return "", off
	}
	return string(data[off : off+end+1]), off + end + 1
}

func (b *syncBuffer) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}

// freePort returns a loopback address with a port that was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// poll checks cond every 5 ms until it holds or d passes, and gives up when the lab is closed (a
// cancelled run).
func (l *Lab) poll(d time.Duration, what string, cond func() bool) error {
	return pollUnless(d, 5*time.Millisecond, what, cond, l.isClosed)
}

// pollFine is l.poll every 250 µs: for waits that are themselves the measurement.
func (l *Lab) pollFine(d time.Duration, what string, cond func() bool) error {
	return pollUnless(d, 250*time.Microsecond, what, cond, l.isClosed)
}

func (l *Lab) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

func pollUnless(d, every time.Duration, what string, cond, closed func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if closed() {
			return errClosed
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(every) // a bounded poll
	}
	return nil
}

// peerAddr is ID@HOST:PORT of a running node.
func peerAddr(n *actors.Node) string { return n.NodeID() + "@" + n.P2PAddr() }

// keyFromSeed is a deterministic ed25519 key.
func keyFromSeed(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}
