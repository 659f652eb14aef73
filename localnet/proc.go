package localnet

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is one node process started by Start.
type Proc struct {
	Cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's error, set before done closes
}

// Start starts argv with env, its output to out, in its own process group (a Ctrl-C in the
// terminal reaches the harness only, which stops the nodes itself) and with Pdeathsig SIGKILL (a
// harness killed outright takes its nodes along). A watcher goroutine, joined through wg, waits
// for the process, calls exited with Wait's error (it must not block for long) and then closes
// Done.
func Start(argv, env []string, out io.Writer, wg *sync.WaitGroup, exited func(error)) (*Proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{Cmd: cmd, done: make(chan struct{})}
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := cmd.Wait()
		p.err = err
		if exited != nil {
			exited(err)
		}
		close(p.done)
	}()
	return p, nil
}

// Done is closed once the process has exited (and exited has returned).
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is Wait's error; valid once Done is closed.
func (p *Proc) Err() error { return p.err }

// Running reports whether the process still runs.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error { return p.Cmd.Process.Signal(sig) }

// Kill sends SIGCONT (a frozen process must be able to die) and SIGKILL unless it has exited.
func (p *Proc) Kill() {
	if p.Running() {
		_ = p.Cmd.Process.Signal(syscall.SIGCONT)
		_ = p.Cmd.Process.Kill()
	}
}

// Wait waits up to bound for the process to exit and reports whether it did.
func (p *Proc) Wait(bound time.Duration) bool {
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		return false
	}
}

// ChildEnv is this process's environment without any ACTORCHAIN_* variable: the homes alone
// define each node.
func ChildEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ACTORCHAIN_") {
			env = append(env, kv)
		}
	}
	return env
}

// SleepCtx waits d or until ctx ends; it reports whether the full wait passed.
func SleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Poll calls cond every interval until it holds (nil) or ctx ends (ctx's error).
func Poll(ctx context.Context, interval time.Duration, cond func() bool) error {
	for {
		if cond() {
			return nil
		}
		if !SleepCtx(ctx, interval) {
			return ctx.Err()
		}
	}
}
