package actors

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/noisep2p"
)

func TestCheckClockSkew(t *testing.T) {
	for _, tc := range []struct {
		skew  int64
		drift uint64
		ok    bool
	}{
		{0, 120_000, true},
		{119, 120_000, true},
		{-119, 120_000, true},
		{120, 120_000, false},
		{-120, 120_000, false},
		{1, 1_500, true},
		{2, 1_500, false},
		{1, 1_000, false},
		{0, 1, true},
		{math.MaxInt64, 120_000, false},
		{math.MinInt64, 120_000, false},
		{math.MaxInt64 / 1000, math.MaxUint64, true},
	} {
		err := CheckClockSkew(tc.skew, tc.drift)
		if (err == nil) != tc.ok {
			t.Errorf("skew %d drift %d: %v, want ok=%v", tc.skew, tc.drift, err, tc.ok)
		}
		if err != nil && (!errors.Is(err, ErrOutOfRange) || !strings.Contains(err.Error(), fmt.Sprint(tc.drift))) {
			t.Errorf("skew %d: error %q does not wrap ErrOutOfRange or name the bound", tc.skew, err)
		}
	}
}

// The bound is exactly |skew|*1000 < drift (a model with big enough integers).
func TestCheckClockSkewModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		skew := rapid.Int64Range(-1_000_000, 1_000_000).Draw(t, "skew")
		drift := rapid.Uint64Range(1, 2_000_000_000).Draw(t, "drift")
		abs := skew
		if abs < 0 {
			abs = -abs
		}
		want := uint64(abs)*1000 < drift
		if got := CheckClockSkew(skew, drift) == nil; got != want {
			t.Fatalf("skew %d drift %d: ok %v, want %v", skew, drift, got, want)
		}
	})
}

func TestLinkFilterValidate(t *testing.T) {
	peer := strings.Repeat("0f", 32)
	for _, tc := range []struct {
		f    api.LinkFilter
		want string // "" valid, else a substring of the error
	}{
		{api.LinkFilter{Peer: peer}, ""},
		{api.LinkFilter{Peer: strings.ToUpper(peer), Cut: true, DelayMs: 60_000, Loss: 1}, ""},
		{api.LinkFilter{Peer: peer[:62]}, "peer"},
		{api.LinkFilter{Peer: ""}, "peer"},
		{api.LinkFilter{Peer: peer, DelayMs: -1}, "delay_ms"},
		{api.LinkFilter{Peer: peer, DelayMs: 60_001}, "delay_ms"},
		{api.LinkFilter{Peer: peer, Loss: -0.01}, "loss"},
		{api.LinkFilter{Peer: peer, Loss: 1.01}, "loss"},
		{api.LinkFilter{Peer: peer, Loss: math.NaN()}, "loss"},
	} {
		err := tc.f.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.f, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("%+v: %v, want an error about %s", tc.f, err, tc.want)
		}
	}
}

func TestLinkTable(t *testing.T) {
	a, b := strings.Repeat("aa", 32), strings.Repeat("0B", 32)
	var t0 linkTable
	t1 := t0.with(api.LinkFilter{Peer: a, Cut: true})
	t2 := t1.with(api.LinkFilter{Peer: b, DelayMs: 5})
	t3 := t2.with(api.LinkFilter{Peer: a}) // all zero: removed
	if len(t0) != 0 || len(t1) != 1 || len(t2) != 2 || len(t3) != 1 {
		t.Fatalf("sizes %d %d %d %d: with must not modify its receiver", len(t0), len(t1), len(t2), len(t3))
	}
	got := t2.list()
	want := []api.LinkFilter{{Peer: strings.ToLower(b), DelayMs: 5}, {Peer: a, Cut: true}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("list %v, want %v (sorted, ids lower-case)", got, want)
	}
	idB, _ := noisep2p.ParseID(b)
	if f := t3[idB]; f.DelayMs != 5 || f.Cut {
		t.Fatalf("filter of b %+v", f)
	}
	if l := linkTable(nil).list(); l == nil || len(l) != 0 {
		t.Fatalf("empty list %#v, want non-nil empty", l)
	}
}

// TestLinkShaper: with delay every message waits its delay and order is kept, also when the
// filter changes while messages are held; loss drops about its share, reproducibly.
func TestLinkShaper(t *testing.T) {
	var id noisep2p.ID
	id[0] = 7
	s := newLinkShaper(id)
	t0 := time.Unix(1000, 0)
	msg := func(i int) noisep2p.Message { return noisep2p.Disconnect{Reason: fmt.Sprint(i)} }
	if send, queued := s.offer(api.LinkFilter{}, msg(0), t0); !send || queued {
		t.Fatal("no filter: sent at once")
	}
	if send, queued := s.offer(api.LinkFilter{DelayMs: 100}, msg(1), t0); send || !queued {
		t.Fatal("delay: queued")
	}
	// The delay is lifted: a later message still waits behind the held one.
	if send, queued := s.offer(api.LinkFilter{}, msg(2), t0.Add(10*time.Millisecond)); send || !queued {
		t.Fatal("behind a held message: queued")
	}
	if msgs, next := s.due(t0.Add(50 * time.Millisecond)); len(msgs) != 0 || !next.Equal(t0.Add(100*time.Millisecond)) {
		t.Fatalf("early: %v next %v", msgs, next)
	}
	msgs, next := s.due(t0.Add(100 * time.Millisecond))
	if fmt.Sprint(msgs) != fmt.Sprint([]noisep2p.Message{msg(1), msg(2)}) || !next.IsZero() {
		t.Fatalf("due: %v next %v", msgs, next)
	}

	drops := func() []bool {
		s := newLinkShaper(id)
		out := make([]bool, 2000)
		for i := range out {
			send, _ := s.offer(api.LinkFilter{Loss: 0.3}, msg(i), t0)
			out[i] = !send
		}
		return out
	}
	d1, d2 := drops(), drops()
	n := 0
	for i := range d1 {
		if d1[i] != d2[i] {
			t.Fatal("loss draws differ for the same peer")
		}
		if d1[i] {
			n++
		}
	}
	if n < 450 || n > 750 {
		t.Fatalf("dropped %d of 2000 at loss 0.3", n)
	}
	s = newLinkShaper(id)
	for i := range 100 {
		if send, _ := s.offer(api.LinkFilter{Loss: 1}, msg(i), t0); send {
			t.Fatal("loss 1 sent a message")
		}
	}
}

// TestLinkShaperOrder: whatever delays and times, messages come out in the order offered, each
// not before its due time.
func TestLinkShaperOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var id noisep2p.ID
		s := newLinkShaper(id)
		now := time.Unix(0, 0)
		var out []int
		offered := 0
		due := map[int]time.Time{}
		for range rapid.IntRange(1, 60).Draw(t, "steps") {
			now = now.Add(time.Duration(rapid.IntRange(0, 50).Draw(t, "dt")) * time.Millisecond)
			if rapid.Bool().Draw(t, "offer") {
				d := rapid.IntRange(0, 100).Draw(t, "delay")
				i := offered
				offered++
				due[i] = now.Add(time.Duration(d) * time.Millisecond)
				if send, _ := s.offer(api.LinkFilter{DelayMs: d}, noisep2p.Disconnect{Reason: fmt.Sprint(i)}, now); send {
					out = append(out, i)
				}
				continue
			}
			msgs, _ := s.due(now)
			for _, m := range msgs {
				var i int
				fmt.Sscan(m.(noisep2p.Disconnect).Reason, &i)
				if now.Before(due[i]) {
					t.Fatalf("message %d out at %v before its due time %v", i, now, due[i])
				}
				out = append(out, i)
			}
		}
		for k, i := range out {
			if i != k {
				t.Fatalf("order %v", out)
			}
		}
	})
}

func TestPaceWait(t *testing.T) {
	const iv = 20 * time.Millisecond
	for _, tc := range []struct {
		tip, now uint64
		want     time.Duration
	}{
		{1000, 1000, iv},
		{1000, 1005, 15 * time.Millisecond},
		{1000, 1020, 0},
		{1000, 5000, 0},
		// A tip ahead of our clock (a fast peer, or our clock set back) waits one interval, not
		// the whole difference.
		{61_000, 1000, iv},
	} {
		if got := paceWait(tc.tip, tc.now, iv); got != tc.want {
			t.Errorf("tip %d now %d: %v, want %v", tc.tip, tc.now, got, tc.want)
		}
	}
}
