package chaos

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/errcode"
)

func TestCheckConverged(t *testing.T) {
	for _, tc := range []struct {
		name string
		tips []string
		took time.Duration
		ok   bool
	}{
		{"one tip in time", []string{"aa", "aa", "aa"}, time.Second, true},
		{"two tips", []string{"aa", "bb", "aa"}, time.Second, false},
		{"a node did not answer", []string{"aa", "", "aa"}, time.Second, false},
		{"no node answered", []string{"", "", ""}, time.Second, false},
		{"too late", []string{"aa", "aa"}, time.Minute, false},
		{"no nodes", nil, time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c := CheckConverged(tc.tips, tc.took, 10*time.Second); c.OK != tc.ok {
				t.Fatalf("%+v, want ok=%v", c, tc.ok)
			}
		})
	}
}

// TestWaitedFor: a failed convergence whose confirmation wait ran out says so and how far it
// got; a passed one, or one whose wait finished, is left as it is.
func TestWaitedFor(t *testing.T) {
	failed := CheckConverged([]string{"aa", "bb"}, time.Minute, 10*time.Second)
	c := WaitedFor(failed, 1234, 150203)
	if c.OK || !strings.Contains(c.Detail, "tips: node0 aa, node1 bb") || !strings.Contains(c.Detail, "1234 of 150203 transfers not seen confirmed yet") || !strings.Contains(c.Detail, "--converge") {
		t.Errorf("a failed check whose wait ran out: %+v", c)
	}
	if c := WaitedFor(failed, 0, 150203); c.Detail != failed.Detail {
		t.Errorf("a failed check whose wait finished changed: %q, want %q", c.Detail, failed.Detail)
	}
	passed := CheckConverged([]string{"aa", "aa"}, time.Second, 10*time.Second)
	if c := WaitedFor(passed, 5, 10); !c.OK || c.Detail != "" {
		t.Errorf("a passed check changed: %+v", c)
	}
}

func TestCheckTransfers(t *testing.T) {
	seen := func(m map[string]string) []TxSeen { return []TxSeen{m, m} }
	for _, tc := range []struct {
		name    string
		acked   []string
		inChain map[string]int
		seen    []TxSeen
		ok      bool
		figure  string
	}{
		{"all once", []string{"a", "b"}, map[string]int{"a": 1, "b": 1, "c": 1}, seen(map[string]string{"a": "B1", "b": "B2"}), true, "2 confirmed exactly once"},
		{"one missing", []string{"a", "b"}, map[string]int{"a": 1}, seen(map[string]string{"a": "B1"}), false, "1 missing"},
		{"one twice", []string{"a"}, map[string]int{"a": 2}, seen(map[string]string{"a": "B1"}), false, "1 more than once"},
		{"nodes disagree", []string{"a"}, map[string]int{"a": 1}, []TxSeen{{"a": "B1"}, {"a": "B2"}}, false, "1 not confirmed alike"},
		{"pending on one node", []string{"a"}, map[string]int{"a": 1}, []TxSeen{{"a": "B1"}, {}}, false, "1 not confirmed alike"},
		{"nothing acknowledged", nil, map[string]int{}, seen(map[string]string{}), false, "0 acknowledged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := CheckTransfers(tc.acked, tc.inChain, tc.seen)
			if c.OK != tc.ok || !strings.Contains(c.Figure, tc.figure) {
				t.Fatalf("%+v, want ok=%v and a figure with %q", c, tc.ok, tc.figure)
			}
		})
	}
}

func TestCheckVerifyDeathsInjected(t *testing.T) {
	if c := CheckVerify([]Verified{{Node: 0, OK: true, Height: 5}, {Node: 1, OK: true, Height: 5}}); !c.OK {
		t.Fatalf("all verified: %+v", c)
	}
	if c := CheckVerify([]Verified{{Node: 0, OK: true}, {Node: 1, Error: "state root"}}); c.OK || !strings.Contains(c.Detail, "state root") {
		t.Fatalf("one failed: %+v", c)
	}
	if c := CheckVerify(nil); c.OK {
		t.Fatalf("nothing verified passes: %+v", c)
	}
	if c := CheckDeaths(nil); !c.OK {
		t.Fatalf("no exits: %+v", c)
	}
	if c := CheckDeaths([]Exit{{Node: 2, How: "exit status 1"}}); c.OK || !strings.Contains(c.Detail, "node2") {
		t.Fatalf("an exit: %+v", c)
	}
	steps := []Applied{
		{Kind: KindKill, Fault: 0, Result: ResultOK},
		{Kind: KindActor, Fault: 1, Result: ResultSkipped},
		{Kind: KindActor, Fault: 2, Result: ResultOK},
		{Kind: "heal", Fault: -1, Result: ResultOK},
	}
	if c := CheckInjected(steps, []Kind{KindKill, KindActor}); !c.OK {
		t.Fatalf("every kind applied: %+v", c)
	}
	if c := CheckInjected(steps, []Kind{KindKill, KindActor, KindClock}); c.OK || !strings.Contains(c.Detail, "clock") {
		t.Fatalf("a kind never applied: %+v", c)
	}
	failed := append(steps, Applied{Kind: KindStorage, Fault: 3, Result: ResultError, Detail: "HTTP 404"})
	if c := CheckInjected(failed, []Kind{KindKill}); c.OK || !strings.Contains(c.Detail, "HTTP 404") {
		t.Fatalf("a failed step: %+v", c)
	}
}

func TestLockErrors(t *testing.T) {
	log := strings.Join([]string{
		`{"level":"INFO","msg":"actor started","actor":"storage"}`,
		`{"level":"ERROR","msg":"start failed","err":"open store /x/chain.db: timeout"}`,
		`{"level":"INFO","msg":"dial failed","err":"dial tcp 10.0.0.1:7600: i/o timeout"}`,
		`node: open /x/chain.db: database is in use by another process`,
		`{"level":"INFO","msg":"block connected","height":7}`,
	}, "\n")
	got := LockErrors([]byte(log))
	if len(got) != 2 || !strings.Contains(got[0], "open store") || !strings.Contains(got[1], "in use") {
		t.Fatalf("LockErrors = %q", got)
	}
	if c := CheckLocks([][]byte{[]byte("fine\n"), []byte(log)}); c.OK || !strings.Contains(c.Detail, "node1") {
		t.Fatalf("CheckLocks = %+v", c)
	}
	if c := CheckLocks([][]byte{[]byte("fine\n")}); !c.OK {
		t.Fatalf("CheckLocks of a clean log = %+v", c)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want outcome
	}{
		{nil, outAcked},
		{&api.APIError{Status: 400, Code: errcode.Duplicate}, outKnown},
		{&api.APIError{Status: 400, Code: errcode.BadNonce, Detail: errcode.NonceUsed, Message: "nonce 3 is already used (account nonce is 4)"}, outKnown},
		// By code and detail, not by message: the same words with another detail, or none (an
		// older node), are not taken for a known transaction.
		{&api.APIError{Status: 400, Code: errcode.BadNonce, Detail: errcode.NonceUsed, Message: "any words"}, outKnown},
		{&api.APIError{Status: 400, Code: errcode.BadNonce, Detail: errcode.NonceGap, Message: "nonce 3 is already used"}, outRetry},
		{&api.APIError{Status: 400, Code: errcode.BadNonce, Message: "nonce 3 is already used"}, outRetry},
		{&api.APIError{Status: 400, Code: errcode.BadNonce, Detail: errcode.NonceGap, Message: "nonce 300 is too far ahead of the next pending nonce 3"}, outRetry},
		{&api.APIError{Status: 400, Code: "insufficient_funds"}, outRetry},
		{&api.APIError{Status: 503, Code: "busy"}, outRetry},
		{errors.New("connection refused"), outRetry},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestTranscriptPrint(t *testing.T) {
	tr := &Transcript{Seed: 9, Nodes: 3, LinkMode: LinksFilter, Checks: []Check{
		{Name: CheckNameConverged, OK: true, Figure: "3 nodes on tip x"},
		{Name: CheckNameVerify, OK: false, Figure: "2 of 3", Detail: "node1: bad"},
	}}
	var b bytes.Buffer
	tr.Print(&b)
	for _, want := range []string{"seed 9", "check ok   converged", "check FAIL node verify", "node1: bad", "an invariant failed"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("transcript lacks %q:\n%s", want, b.String())
		}
	}
}
