package logthrottle

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/actorchain/actorchain/internal/testutil"
	"pgregory.net/rapid"
)

func newTest(t testing.TB) (*slog.Logger, *Handler, *bytes.Buffer, *testutil.Clock) {
	var buf bytes.Buffer
	c := testutil.NewClock(time.Unix(1_000_000, 0))
	h := New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), Options{Clock: c.Now})
	return slog.New(h), h, &buf, c
}

type rec map[string]any

func records(t interface{ Fatalf(string, ...any) }, buf *bytes.Buffer) []rec {
	var out []rec
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	for sc.Scan() {
		var r rec
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad record %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	buf.Reset()
	return out
}

func summary(rs []rec) []string {
	var out []string
	for _, r := range rs {
		s := fmt.Sprintf("%v %v", r["level"], r["msg"])
		if a, ok := r["actor"]; ok {
			s += fmt.Sprintf(" actor=%v", a)
		}
		if n, ok := r[RepeatedKey]; ok {
			s += fmt.Sprintf(" repeated=%v", n)
		}
		if v, ok := r["i"]; ok {
			s += fmt.Sprintf(" i=%v", v)
		}
		out = append(out, s)
	}
	return out
}

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}

func TestThrottle(t *testing.T) {
	log, h, buf, c := newTest(t)

	// A burst: the first passes, the rest of the second is counted.
	for i := 0; i < 50; i++ {
		log.Warn("commit failed", "actor", "mempool", "i", i)
		c.Advance(10 * time.Millisecond)
	}
	eq(t, "burst", summary(records(t, buf)), []string{"WARN commit failed actor=mempool i=0"})

	// Another actor, another level, another message: other kinds, not throttled by the first.
	log.Warn("commit failed", "actor", "storage", "i", 1)
	log.Error("commit failed", "actor", "mempool", "i", 2)
	log.Warn("other", "actor", "mempool", "i", 3)
	log.Warn("commit failed", "actor", "mempool", "peer_id", "ab", "i", 6) // another peer's
	log.Info("commit failed", "actor", "mempool", "i", 4)                  // Info is never throttled
	log.Info("commit failed", "actor", "mempool", "i", 5)
	eq(t, "other kinds", summary(records(t, buf)), []string{
		"WARN commit failed actor=storage i=1", "ERROR commit failed actor=mempool i=2", "WARN other actor=mempool i=3",
		"WARN commit failed actor=mempool i=6",
		"INFO commit failed actor=mempool i=4", "INFO commit failed actor=mempool i=5"})

	// A second after the first passed, the next one passes with the count of those dropped.
	c.Advance(500 * time.Millisecond) // 1 s since i=0
	log.Warn("commit failed", "actor", "mempool", "i", 50)
	log.Warn("commit failed", "actor", "mempool", "i", 51)
	eq(t, "after a second", summary(records(t, buf)), []string{"WARN commit failed actor=mempool repeated=49 i=50"})

	// Flush writes the one still pending; after a quiet hour the next passes without a count.
	h.Flush()
	eq(t, "flush", summary(records(t, buf)), []string{"WARN commit failed actor=mempool i=51"})
	h.Flush()
	eq(t, "second flush", summary(records(t, buf)), nil)
	c.Advance(time.Hour)
	log.Warn("commit failed", "actor", "mempool", "i", 52)
	eq(t, "after a quiet hour", summary(records(t, buf)), []string{"WARN commit failed actor=mempool i=52"})
}

// TestThrottleWithAttrs: an actor given by With is the kind's actor, and derived loggers share
// the state.
func TestThrottleWithAttrs(t *testing.T) {
	log, _, buf, c := newTest(t)
	a := log.With("actor", "peers")
	b := log.With("actor", "peers").WithGroup("g")
	a.Warn("dial failed")
	b.Warn("dial failed")
	log.Warn("dial failed", "actor", "peers")
	log.Warn("dial failed") // no actor: its own kind
	log.With("actor", "consensus").Warn("dial failed")
	eq(t, "with attrs", summary(records(t, buf)), []string{"WARN dial failed actor=peers", "WARN dial failed", "WARN dial failed actor=consensus"})
	c.Advance(time.Second)
	a.Warn("dial failed")
	eq(t, "count across derived loggers", summary(records(t, buf)), []string{"WARN dial failed actor=peers repeated=2"})
}

// TestThrottleMaxKinds: past MaxKinds, idle kinds are forgotten; if none is idle, new kinds
// pass unthrottled (the memory stays bounded, nothing is lost).
func TestThrottleMaxKinds(t *testing.T) {
	var buf bytes.Buffer
	c := testutil.NewClock(time.Unix(1_000_000, 0))
	log := slog.New(New(slog.NewJSONHandler(&buf, nil), Options{Clock: c.Now, MaxKinds: 2}))
	log.Warn("a")
	log.Warn("b")
	log.Warn("c") // full, none idle: passes unremembered
	log.Warn("c")
	log.Warn("a") // remembered: dropped
	eq(t, "full", summary(records(t, &buf)), []string{"WARN a", "WARN b", "WARN c", "WARN c"})
	c.Advance(time.Second)
	log.Warn("d") // a and b idle: forgotten, d remembered
	log.Warn("d")
	eq(t, "idle forgotten", summary(records(t, &buf)), []string{"WARN d"})
}

// TestThrottleModel: for any sequence of records of a few kinds at random times, each kind gets
// at most one record per interval, and the records written plus their repeated counts (after
// Flush) account for every record logged.
func TestThrottleModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var buf bytes.Buffer
		c := testutil.NewClock(time.Unix(1_000_000, 0))
		h := New(slog.NewJSONHandler(&buf, nil), Options{Clock: c.Now})
		log := slog.New(h)
		logged := map[string]int{}
		lastPass := map[string]time.Time{}
		n := rapid.IntRange(0, 200).Draw(rt, "n")
		for i := 0; i < n; i++ {
			c.Advance(time.Duration(rapid.IntRange(0, 400).Draw(rt, "gap_ms")) * time.Millisecond)
			actor := rapid.SampledFrom([]string{"storage", "mempool"}).Draw(rt, "actor")
			msg := rapid.SampledFrom([]string{"x", "y"}).Draw(rt, "msg")
			before := buf.Len()
			log.Warn(msg, "actor", actor)
			k := msg + "/" + actor
			logged[k]++
			if buf.Len() > before {
				if last, ok := lastPass[k]; ok && c.Now().Sub(last) < time.Second {
					rt.Fatalf("%s passed %v after the previous one", k, c.Now().Sub(last))
				}
				lastPass[k] = c.Now()
			}
		}
		h.Flush()
		seen := map[string]int{}
		for _, r := range records(rt, &buf) {
			k := fmt.Sprintf("%v/%v", r["msg"], r["actor"])
			seen[k]++
			if v, ok := r[RepeatedKey].(float64); ok {
				seen[k] += int(v)
			}
		}
		if fmt.Sprint(seen) != fmt.Sprint(logged) {
			rt.Fatalf("records and counts %v, want %v", seen, logged)
		}
	})
}
