package chaos

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

// A crash-loop fault crashes a vital actor (consensus) of one node every CrashLoopInterval: a
// fault that restarts cannot fix. The node must say so and then give up (CONTRACT §9): GET
// /v1/health turns 503 by the time the actor has restarted 3 times, and the crash past the
// restart budget (the chaos homes have supervision.max_restarts CrashLoopBudget) stops the node in
// order with exit 1 and one `node gave up` record naming consensus. That exit is expected; the
// fault's end restarts the node.

// crashLoop is one running crash loop.
type crashLoop struct {
	cancel context.CancelFunc
	done   chan struct{}
	logAt  int64 // the node's log size when the loop began
	began  time.Time

	// Set by the loop's goroutine before done closes.
	crashes     int
	unhealthyAt int // the crash after which health first answered 503 (0: never)
	exited      bool
	exitErr     error
	lastErr     string
}

// startCrashLoop starts crashing node k's consensus.
func (r *runner) startCrashLoop(ctx context.Context, k int) *crashLoop {
	r.mu.Lock()
	p := r.procs[k]
	p.expectExit = true // its exit is judged here, not by CheckDeaths
	r.mu.Unlock()
	lctx, cancel := context.WithCancel(ctx)
	cl := &crashLoop{cancel: cancel, done: make(chan struct{}), began: time.Now()}
	if st, err := r.logs[k].Stat(); err == nil {
		cl.logAt = st.Size()
	}
	go r.crashLoop(lctx, k, p, cl)
	return cl
}

// crashLoop crashes node k's consensus every CrashLoopInterval, CrashLoopBudget+3 times, watching
// its health between crashes, until the process exits or ctx ends; it closes cl.done.
func (r *runner) crashLoop(ctx context.Context, k int, p *proc, cl *crashLoop) {
	defer close(cl.done)
	for i := 1; i <= CrashLoopBudget+3; i++ {
		if i == CrashLoopBudget+1 {
			// From the crash that exceeds the budget on, the node is about to give up: it counts
			// as down for the rest of the run's faults (their changes wait for its restart).
			r.mu.Lock()
			r.down[k] = true
			r.mu.Unlock()
		}
		select {
		case <-p.Done():
			r.exitedInLoop(k, p, cl)
			return
		case <-ctx.Done():
			return
		default:
		}
		c, cancel := context.WithTimeout(ctx, submitTimeout)
		if err := r.clients[k].Crash(c, "consensus"); err != nil {
			cl.lastErr = err.Error()
		} else {
			cl.crashes = i
		}
		cancel()
		if !r.watchHealth(ctx, k, i, p, cl) {
			return
		}
	}
	select { // the last crash is past the budget: the ordered stop follows
	case <-p.Done():
		r.exitedInLoop(k, p, cl)
	case <-ctx.Done():
	case <-time.After(20 * time.Second):
	}
}

// exitedInLoop records that node k's process p gave up during the crash loop, and marks it down
// at once: a crash of the same actor by another fault counts towards the restart budget, so the
// node can give up before the crash that exceeds the budget, and the faults that end meanwhile
// must leave it alone until the loop's end restarts it.
func (r *runner) exitedInLoop(k int, p *proc, cl *crashLoop) {
	cl.exited, cl.exitErr = true, p.Err()
	r.mu.Lock()
	r.down[k] = true
	r.mu.Unlock()
}

// watchHealth polls node k's health until the next crash is due, noting the first crash (i)
// after which it answered 503. False when the process exited or ctx ended.
func (r *runner) watchHealth(ctx context.Context, k, i int, p *proc, cl *crashLoop) bool {
	next := time.After(CrashLoopInterval)
	for {
		if cl.unhealthyAt == 0 && r.healthCode(ctx, k) == http.StatusServiceUnavailable {
			cl.unhealthyAt = i
		}
		select {
		case <-p.Done():
			r.exitedInLoop(k, p, cl)
			return false
		case <-ctx.Done():
			return false
		case <-next:
			return true
		case <-time.After(100 * time.Millisecond): // health polling interval
		}
	}
}

// healthCode returns the status of node k's GET /v1/health (0 when it does not answer).
func (r *runner) healthCode(ctx context.Context, k int) int {
	c, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(c, http.MethodGet, r.homes[k].API+"/v1/health", nil)
	if err != nil {
		return 0
	}
	res, err := r.hc.Do(req)
	if err != nil {
		return 0
	}
	_ = res.Body.Close()
	return res.StatusCode
}

// crashLoopBound bounds a crash loop from its first crash to the node's exit: every crash the
// budget allows and the one past it, and the ordered stop that follows.
const crashLoopBound = (CrashLoopBudget+3)*CrashLoopInterval + 25*time.Second

// finish waits for the loop to run its course (at most crashLoopBound from its start: the fault's
// end may come early when earlier steps ran late), stops it and judges it: the node turned
// unhealthy, then gave up with exit 1 and one `node gave up` record naming consensus.
func (cl *crashLoop) finish(logPath string) error {
	select {
	case <-cl.done:
	case <-time.After(time.Until(cl.began.Add(crashLoopBound))):
	}
	cl.cancel()
	<-cl.done
	var problems []string
	if !cl.exited {
		problems = append(problems, fmt.Sprintf("still running after %d crashes of consensus", cl.crashes))
	} else {
		var ee *exec.ExitError
		if !errors.As(cl.exitErr, &ee) || ee.ExitCode() != 1 {
			problems = append(problems, fmt.Sprintf("exited with %v, want exit status 1", cl.exitErr))
		}
	}
	if cl.unhealthyAt == 0 {
		problems = append(problems, "GET /v1/health never answered 503")
	}
	if n, named := gaveUpRecords(logPath, cl.logAt); n != 1 || !named {
		problems = append(problems, fmt.Sprintf("%d `node gave up` records (naming consensus: %v), want 1", n, named))
	}
	if len(problems) > 0 {
		if cl.lastErr != "" {
			problems = append(problems, "last crash call: "+cl.lastErr)
		}
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// gaveUpRecords counts the `node gave up` records in the log after offset and whether each
// names consensus.
func gaveUpRecords(path string, offset int64) (n int, named bool) {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < offset {
		return 0, false
	}
	named = true
	for _, line := range strings.Split(string(b[offset:]), "\n") {
		if strings.Contains(line, "node gave up") && strings.HasPrefix(strings.TrimSpace(line), "{") {
			n++
			named = named && strings.Contains(line, "consensus")
		}
	}
	return n, named && n > 0
}

func (cl *crashLoop) String() string {
	return fmt.Sprintf("%d crashes of consensus, unhealthy after crash %d, gave up: %v", cl.crashes, cl.unhealthyAt, cl.exited)
}
