package actors

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/internal/testutil"
)

func TestYieldFor(t *testing.T) {
	for _, c := range []struct {
		name        string
		before, now time.Duration
		want        time.Duration
	}{
		{"no wait", 5 * time.Millisecond, 5 * time.Millisecond, 0},
		{"below the least", 0, yieldMin - 1, 0},
		{"the least", 0, yieldMin, yieldMin},
		{"as long as it waited", 2 * time.Second, 2*time.Second + 3*time.Millisecond, 3 * time.Millisecond},
		{"at most yieldMax", 0, yieldMax + 1, yieldMax},
		{"a total that went back", time.Second, 0, 0},
	} {
		if got := yieldFor(c.before, c.now); got != c.want {
			t.Errorf("%s: yieldFor(%v, %v) = %v, want %v", c.name, c.before, c.now, got, c.want)
		}
	}
}

func TestParseSchedstat(t *testing.T) {
	line := []byte("1844674 95122 31\n")
	if n := testing.AllocsPerRun(100, func() { _, _ = parseSchedstat(line) }); n != 0 {
		t.Errorf("parseSchedstat allocates %v times a call, want 0", n)
	}
	for _, c := range []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"1844674 95122 31\n", 95122, false},
		{"0 0 0", 0, false},
		{"12 34", 34, false},
		{"", 0, true},
		{"12\n", 0, true},
		{"12 x 3\n", 0, true},
		{"12 -5 3\n", 0, true},
		{"12 99999999999999999999 3\n", 0, true},
		{"12 9223372036854775807 3\n", 9223372036854775807, false},
		{"12 9223372036854775808 3\n", 0, true},
		{"12 \n", 0, true},
	} {
		got, err := parseSchedstat([]byte(c.in))
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("parseSchedstat(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.wantErr)
		}
	}
}

// fakeRunWait reports the totals of waits in turn (the last one again when they run out) or err.
type fakeRunWait struct {
	mu     sync.Mutex
	waits  []time.Duration
	err    error // from the read after the totals run out, when set
	reads  int
	closed chan struct{}
}

func newFakeRunWait(err error, waits ...time.Duration) *fakeRunWait {
	return &fakeRunWait{waits: waits, err: err, closed: make(chan struct{})}
}

func (f *fakeRunWait) wait() (time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.reads > len(f.waits) {
		if f.err != nil {
			return 0, f.err
		}
		return f.waits[len(f.waits)-1], nil
	}
	return f.waits[f.reads-1], nil
}

func (f *fakeRunWait) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func (f *fakeRunWait) Close() error { close(f.closed); return nil }

// TestYielderSleepsAsLongAsItWaited: a poll after a wait of at least yieldMin sleeps that long,
// and the wait to run again after a sleep does not count as load.
func TestYielderSleepsAsLongAsItWaited(t *testing.T) {
	// Totals: the start, a short wait, a wait of 30 ms, the wake from that sleep (+50 ms, not
	// counted), then nothing more.
	w := newFakeRunWait(nil, 0, yieldMin/2, yieldMin/2+30*time.Millisecond, time.Second)
	y, err := newYielder(w)
	if err != nil {
		t.Fatal(err)
	}
	left := make(chan struct{})
	start := time.Now()
	if err := y.poll(left); err != nil { // a short wait: no sleep
		t.Fatal(err)
	}
	if err := y.poll(left); err != nil { // 30 ms
		t.Fatal(err)
	}
	if took := time.Since(start); took < 30*time.Millisecond {
		t.Fatalf("two polls after a 30 ms wait took %v, want a sleep of 30 ms", took)
	}
	if y.last != time.Second {
		t.Fatalf("after the sleep the last total is %v, want the total read after waking (1s)", y.last)
	}
	if err := y.poll(left); err != nil || w.readCount() != 5 {
		t.Fatalf("poll after waking: %v, %d reads; want no error and 5 reads", err, w.readCount())
	}
}

// TestYielderLeaves: a search told to leave ends its sleep at once.
func TestYielderLeaves(t *testing.T) {
	y, err := newYielder(newFakeRunWait(nil, 0, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	left := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- y.poll(left) }()
	close(left)
	select {
	case err := <-done:
		if !errors.Is(err, errLeft) {
			t.Fatalf("poll = %v, want errLeft", err)
		}
	case <-time.After(yieldMax / 2):
		t.Fatal("a yield did not end when the search was told to leave")
	}
}

// TestWorkerYieldingStopsAtOnce: a low-priority worker sleeping in a long yield ends its search
// at once on a stop (its thread's wait closed well before the sleep would end), and the next job
// hashes.
func TestWorkerYieldingStopsAtOnce(t *testing.T) {
	hashes := &hashCount{}
	// Every read after the first reports another yieldMax of waiting: every poll sleeps.
	var mu sync.Mutex
	var waits []*fakeRunWait
	open := func() (runWait, error) {
		mu.Lock()
		defer mu.Unlock()
		var w *fakeRunWait
		if len(waits) == 0 {
			w = newFakeRunWait(nil, 0, yieldMax, 2*yieldMax, 3*yieldMax, 4*yieldMax, 5*yieldMax)
		} else {
			w = newFakeRunWait(nil, 0) // the second search: no wait, hashes on
		}
		waits = append(waits, w)
		return w, nil
	}
	w := &workerActor{hashes: hashes, tips: &tipEpoch{}, lowPriority: true, runWait: open}
	h := newWorkerHarness(t, w)
	pid := h.readyWorker(t)
	h.sys.Root.Send(pid, endlessJob(1))
	first := func() *fakeRunWait {
		mu.Lock()
		defer mu.Unlock()
		if len(waits) == 0 {
			return nil
		}
		return waits[0]
	}
	testutil.WaitFor(t, 5*time.Second, "the search's first yield", func() bool {
		f := first()
		return f != nil && f.readCount() >= 2
	})
	stopped := time.Now()
	h.sys.Root.Send(pid, &stopJob{})
	select {
	case <-first().closed:
		if took := time.Since(stopped); took >= yieldMax/2 {
			t.Fatalf("the yielding search ended %v after the stop, want well under the sleep of %v", took, yieldMax)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the yielding search did not end after a stop")
	}
	h.sys.Root.Send(pid, endlessJob(2))
	waitHashing(t, hashes, 0)
	h.noReport(t, "for searches it stopped or that hash on")
}

// TestWorkerYieldFailureHashesOn: a search whose run-queue wait cannot be read (at the start, or
// later) reports it once per search and hashes on at the node's priority.
func TestWorkerYieldFailureHashesOn(t *testing.T) {
	for _, c := range []struct {
		name string
		open func() (runWait, error)
	}{
		{"open", func() (runWait, error) { return nil, errors.New("no schedstat") }},
		{"read", func() (runWait, error) { return newFakeRunWait(errors.New("schedstat gone"), 0, 0), nil }},
	} {
		t.Run(c.name, func(t *testing.T) {
			hashes := &hashCount{}
			w := &workerActor{hashes: hashes, tips: &tipEpoch{}, lowPriority: true, runWait: c.open}
			h := newWorkerHarness(t, w)
			pid := h.readyWorker(t)
			h.sys.Root.Send(pid, endlessJob(1))
			select {
			case msg := <-h.got:
				if _, ok := msg.(*workerPriority); !ok {
					t.Fatalf("the worker reported %T %+v, want workerPriority", msg, msg)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the worker did not report the failure")
			}
			waitHashing(t, hashes, 0)
			h.sys.Root.Send(pid, &stopJob{})
		})
	}
}
