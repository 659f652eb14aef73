package resilience_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
)

// TestAckStress hunts lost acknowledgements (docs/soak.md). A mining node process at trivial work
// takes transfers from eight API streams (every 202 recorded) while the CPUs are kept busy, and
// each cycle ends with one fault drawn from the seed: kill -9, a clean stop (SIGTERM), a crash or
// kill of the storage or mempool actor, or failing storage commits. A stopped process is verified
// offline and reopened at once. After each cycle every acknowledgement not yet seen confirmed is
// looked up through the API and must be pending or confirmed; at the end of a home all are.
// So group commits, block connects that take transfers still being committed (the miner reads the
// pool's memory), the prunes of a restarted mempool, restarts with commits in flight and the
// stop sequence all run under the check. The node writes a commit trace (actors.Options
// .CommitTrace): a lost acknowledgement is reported with every trace line that names it, which
// says which group commit (and bbolt transaction) made it durable and which write removed it.
//
// Environment: ACK_STRESS_SEED (default: the clock; logged), ACK_STRESS_ACKS (stop once this many
// acknowledgements are checked; default 600, `make soak` 100000), ACK_STRESS_HOME_CYCLES (cycles
// per home, default 20), ACK_STRESS_SPIN (CPU-bound goroutines during the load, default GOMAXPROCS).
func TestAckStress(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("ACK_STRESS_SEED"); v != "" {
		if _, err := fmt.Sscan(v, &seed); err != nil {
			t.Fatalf("ACK_STRESS_SEED: want an unsigned integer, got %q", v)
		}
	}
	target := soakEnvInt(t, "ACK_STRESS_ACKS", 600)
	homeCycles := soakEnvInt(t, "ACK_STRESS_HOME_CYCLES", 20)
	spin := soakEnvInt(t, "ACK_STRESS_SPIN", runtime.GOMAXPROCS(0))
	t.Logf("ack stress: seed %d (ACK_STRESS_SEED=%d replays the schedule), until %d acknowledgements, %d cycles per home, %d spinners",
		seed, seed, target, homeCycles, spin)
	rng := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	var total ackTotals
	began := time.Now()
	for total.acked < target {
		s := newAckHome(t, rng, seed)
		for c := 0; c < homeCycles && total.acked+len(s.acks) < target; c++ {
			s.cycle(&total, spin)
		}
		s.finish(&total)
	}
	t.Logf("ack stress done in %v: %d acknowledgements on %d homes, %d cycles (%v), %d lookups; %d confirmed at the end; lost: 0",
		time.Since(began).Round(time.Millisecond), total.acked, total.homes, total.cycles, total.faults, total.lookups, total.confirmed)
}

type ackTotals struct {
	acked, confirmed, homes, cycles, lookups int
	faults                                   map[string]int
}

// ackRecord is the submitter's record of one acknowledgement.
type ackRecord struct {
	hash   chainstate.Hash
	sender int
	cycle  int
	at     time.Time
}

type ackHome struct {
	t       *testing.T
	rng     *rand.Rand
	seed    uint64
	h       *home
	p       *chainstate.Params
	senders []ed25519.PrivateKey
	to      chainstate.Address
	c       *child
	acks    []ackRecord
	open    []int // indexes into acks not yet seen confirmed
	cycles  int
}

func newAckHome(t *testing.T, rng *rand.Rand, seed uint64) *ackHome {
	t.Helper()
	s := &ackHome{t: t, rng: rng, seed: seed}
	s.h = newHome(t, func(c *config.Config) {
		c.Chain.PowBits = 8
		c.Mining.Workers = 2
		c.Debug.FaultInjection = true
		c.Supervision.MaxRestarts = 100000 // its crashes are on purpose: the restart budget is not under test
	})
	for i := range 8 {
		k := newKey(t, byte(60+i))
		s.senders = append(s.senders, k)
		s.h.cfg.Chain.Alloc[addrOf(k).String()] = 1_000_000_000_000
	}
	s.to = addrOf(newKey(t, 80))
	rewrite(t, s.h)
	p, err := actors.ParamsFromConfig(s.h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.p = p
	if err := os.WriteFile(filepath.Join(s.h.dir, childTraceFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s.c = s.h.startChild(t)
	return s
}

// ackFaults are the cycle-ending faults; the first three end the process.
var ackFaults = []string{"kill-9", "sigterm", "kill-9", "crash storage", "crash mempool", "kill storage", "kill mempool", "storage fault"}

// cycle runs the streams for a drawn time, injects a drawn fault, and checks the open
// acknowledgements.
func (s *ackHome) cycle(total *ackTotals, spin int) {
	t := s.t
	s.cycles++
	total.cycles++
	fault := ackFaults[s.rng.IntN(len(ackFaults))]
	load := time.Duration(150+s.rng.IntN(1200)) * time.Millisecond
	if total.faults == nil {
		total.faults = map[string]int{}
	}
	total.faults[fault]++

	ctx := context.Background()
	streams := make([]*txStream, len(s.senders))
	for i, k := range s.senders {
		acc, err := s.c.api.Account(ctx, addrOf(k).String())
		if err != nil {
			t.Fatalf("cycle %d: account: %v", s.cycles, err)
		}
		streams[i] = startStream(t, s.p, k, s.to, acc.PendingNonce, apiSubmit(s.c.api))
	}
	stopSpin := spinCPUs(spin)
	fail := func(format string, args ...any) {
		stopSpin()
		for _, st := range streams {
			st.stop()
		}
		t.Fatalf("cycle %d (%s, seed %d): %s\n%s", s.cycles, fault, s.seed, fmt.Sprintf(format, args...), s.c.logs.Tail())
	}
	time.Sleep(load) // the planned load time before the fault (drawn from the seed)
	ended := false
	switch fault {
	case "kill-9":
		s.c.kill()
		ended = true
	case "sigterm":
		if err := s.c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			fail("SIGTERM: %v", err)
		}
		select {
		case err := <-s.c.done:
			s.c.done <- err
			if err != nil {
				fail("the node exited with %v after SIGTERM, want 0", err)
			}
		case <-time.After(30 * time.Second):
			fail("the node did not exit within 30 s of SIGTERM")
		}
		ended = true
	case "storage fault":
		if _, err := s.c.api.DebugStorageFault(ctx, true); err != nil {
			fail("storage fault on: %v", err)
		}
		time.Sleep(time.Duration(100+s.rng.IntN(400)) * time.Millisecond) // the fault's planned length
		if _, err := s.c.api.DebugStorageFault(ctx, false); err != nil {
			fail("storage fault off: %v", err)
		}
	default: // crash|kill storage|mempool
		verb, name, _ := strings.Cut(fault, " ")
		call := s.c.api.Crash
		if verb == "kill" {
			call = s.c.api.Kill
		}
		if err := call(ctx, name); err != nil {
			fail("%s: %v", fault, err)
		}
		time.Sleep(time.Duration(100+s.rng.IntN(400)) * time.Millisecond) // load goes on across the restart
	}
	for i, st := range streams {
		st.stop()
		acked, unexpected, _ := st.result()
		if len(unexpected) > 0 {
			fail("unexpected rejections: %v", unexpected)
		}
		for _, h := range acked {
			s.open = append(s.open, len(s.acks))
			s.acks = append(s.acks, ackRecord{hash: h, sender: i, cycle: s.cycles, at: time.Now()})
		}
	}
	stopSpin()
	if ended {
		if _, err := chainstate.Verify(s.h.cfg.Storage.Path, s.p, 5*time.Second); err != nil {
			t.Fatalf("cycle %d (%s, seed %d): verify: %v", s.cycles, fault, s.seed, err)
		}
		s.c = s.h.startChild(t) // reopen at once
	}
	s.check(total, false)
}

// check looks up every open acknowledgement (all of them when all is true).
func (s *ackHome) check(total *ackTotals, all bool) {
	idx := s.open
	if all {
		idx = make([]int, len(s.acks))
		for i := range idx {
			idx[i] = i
		}
	}
	var still []int
	ctx := context.Background()
	for _, i := range idx {
		a := s.acks[i]
		var st api.TxStatus
		var err error
		for try := 0; try < 50; try++ { // a 503 while an actor restarts is retried, a 404 is not
			total.lookups++
			st, err = s.c.api.Tx(ctx, a.hash.String())
			var ae *api.APIError
			if err == nil || (errors.As(err, &ae) && ae.Status == 404) {
				break
			}
			time.Sleep(20 * time.Millisecond) // retry pacing
		}
		if err != nil {
			s.t.Fatalf("acknowledged transfer %s lost (acknowledged in cycle %d of this home, sender %d, seed %d): %v\ncommit trace:\n%s\nnode log:\n%s",
				a.hash, a.cycle, a.sender, s.seed, err, s.traceOf(a.hash), s.c.logs.Tail())
		}
		switch st.Status {
		case "confirmed":
			if all {
				total.confirmed++
			}
		case "pending":
			still = append(still, i)
		default:
			s.t.Fatalf("acknowledged transfer %s has status %q", a.hash, st.Status)
		}
	}
	if !all {
		s.open = still
	}
}

// finish checks every acknowledgement of the home and stops its node.
func (s *ackHome) finish(total *ackTotals) {
	s.check(total, true)
	total.acked += len(s.acks)
	total.homes++
	s.t.Logf("home %d: %d cycles, %d acknowledgements, all pending or confirmed", total.homes, s.cycles, len(s.acks))
	s.c.kill()
}

// traceOf returns every commit-trace line that names h.
func (s *ackHome) traceOf(h chainstate.Hash) string {
	f, err := os.Open(filepath.Join(s.h.dir, childTraceFile))
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var b strings.Builder
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	hex := h.String()
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, hex) {
			if len(line) > 400 {
				line = line[:400] + "..."
			}
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	if b.Len() == 0 {
		return "(no trace line names it: its commit was the last before a kill, or it never committed)"
	}
	return b.String()
}

// spinCPUs starts n CPU-bound goroutines and returns the function that stops and joins them.
func spinCPUs(n int) func() {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for x := 0; ; x++ {
				if x%4096 == 0 {
					select {
					case <-quit:
						return
					default:
					}
				}
			}
		}()
	}
	var once sync.Once
	return func() { once.Do(func() { close(quit); wg.Wait() }) }
}
