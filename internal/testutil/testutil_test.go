package testutil

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fatalTB is a testing.TB whose Fatalf records the message and ends the calling goroutine, so
// that a helper's failure path can be checked from a test that itself passes.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fails runs fn with a fatalTB on its own goroutine and returns the Fatalf message ("" if none).
func fails(t *testing.T, fn func(tb testing.TB)) string {
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg
}

func TestWaitFor(t *testing.T) {
	calls := 0
	WaitFor(t, 5*time.Second, "the third call", func() bool { calls++; return calls == 3 })
	if calls != 3 {
		t.Fatalf("cond called %d times, want 3 (WaitFor must return as soon as it holds)", calls)
	}
	start := time.Now()
	msg := fails(t, func(tb testing.TB) { WaitFor(tb, 30*time.Millisecond, "never", func() bool { return false }) })
	if !strings.Contains(msg, "timed out after 30ms waiting for never") {
		t.Fatalf("failure message %q", msg)
	}
	if took := time.Since(start); took < 30*time.Millisecond || took > 5*time.Second {
		t.Fatalf("gave up after %v, want about 30ms", took)
	}
}

func TestLogBufferRecords(t *testing.T) {
	var b LogBuffer
	log := slog.New(slog.NewJSONHandler(&b, nil))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				log.Info("actor started", "actor", fmt.Sprintf("a%d", i), "j", j)
			}
		})
	}
	wg.Wait()
	if n := len(b.MustRecords(t)); n != 400 {
		t.Fatalf("%d records, want 400", n)
	}
	off := b.Len()
	log.Warn("actor crashed", "actor", "b", "reason", "boom")
	_, _ = b.Write([]byte("plain text from a process\n"))
	log.Info("actor restarted", "actor", "b", "restarts", 1)
	log.Info("actor restarted", "actor", "c", "restarts", 2)

	if got := b.RecordsSince(off); len(got) != 3 {
		t.Fatalf("RecordsSince: %d records, want 3 (the plain line skipped): %v", len(got), got)
	}
	if got := b.Records("actor crashed", "actor restarted"); len(got) != 3 || got[0].Msg() != "actor crashed" {
		t.Fatalf("Records by message: %v", got)
	}
	if got := b.Find("actor restarted", "c"); len(got) != 1 || got[0].Str("restarts") != "2" || got[0].Str("none") != "" {
		t.Fatalf("Find: %v", got)
	}
	if got := b.ActorsOf("actor restarted"); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("ActorsOf: %v", got)
	}
	if got := len(b.ActorsOf("actor started")); got != 400 {
		t.Fatalf("ActorsOf(actor started): %d, want 400", got)
	}
	if msg := fails(t, func(tb testing.TB) { b.MustRecords(tb) }); !strings.Contains(msg, "plain text from a process") {
		t.Fatalf("MustRecords accepted a plain line (message %q)", msg)
	}
	if tail := b.Tail(); len(tail) != tailSize || !strings.HasSuffix(tail, `"restarts":2}`+"\n") {
		t.Fatalf("Tail: %d bytes ending %q", len(tail), tail[max(0, len(tail)-40):])
	}
}

func TestCorpusFile(t *testing.T) {
	got, err := corpusFile([]any{uint8(3), []byte("a\x00")})
	if err != nil || string(got) != "go test fuzz v1\nbyte('\\x03')\n[]byte(\"a\\x00\")\n" {
		t.Fatalf("corpusFile = %q, %v", got, err)
	}
	if _, err := corpusFile([]any{"a string"}); err == nil {
		t.Fatal("corpusFile accepted a string argument")
	}
	if m := BytesCorpus(map[string][]byte{"x": {1}}); len(m) != 1 || len(m["x"]) != 1 {
		t.Fatalf("BytesCorpus = %v", m)
	}
	if d := packageDir(); d != "./internal/testutil/" {
		t.Fatalf("packageDir = %q", d)
	}
}

func TestClock(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	c := NewClock(t0)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Millisecond)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got := c.Now().Sub(t0); got != 400*time.Millisecond {
		t.Fatalf("advanced by %v, want 400ms", got)
	}
}

func TestFileSum(t *testing.T) {
	path := t.TempDir() + "/f"
	if err := os.WriteFile(path, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := FileSum(t, path); got != sha256.Sum256([]byte("abc")) {
		t.Fatalf("FileSum = %x", got)
	}
	if msg := fails(t, func(tb testing.TB) { FileSum(tb, path+"-missing") }); msg == "" {
		t.Fatal("FileSum of a missing file did not fail")
	}
}
