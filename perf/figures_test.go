package perf

import (
	"errors"
	"sync"
	"testing"
)

func TestFigureRows(t *testing.T) {
	tests := []struct {
		name       string
		r          Result
		row, fig   string
		goals, met bool
	}{
		{"hop warm", hopResult(true, true, 3.5), "hop", "block of 1,000 transfers, per hop, 5-node line", true, false},
		{"hop warm met", hopResult(true, true, 3), "hop", "block of 1,000 transfers, per hop, 5-node line", true, true},
		{"hop cold", hopResult(false, true, 21), "hop-cold", "block of 1,000 transfers, per hop, 5-node line, mempools cold", true, false},
		{"hop cold met", hopResult(false, true, 20), "hop-cold", "block of 1,000 transfers, per hop, 5-node line, mempools cold", true, true},
		{"hop full control", hopResult(true, false, 9), "hop-full", "block of 1,000 transfers, per hop, 5-node line, whole blocks (p2p.compact_blocks off)", false, false},
		{"hop full cold control", hopResult(false, false, 9), "hop-full-cold", "block of 1,000 transfers, per hop, 5-node line, whole blocks (p2p.compact_blocks off), mempools cold", false, false},
		{"hop relay", hopRelayResult(true, 1.2, 9), "hop-relay", "block of 1,000 transfers, per hop to the early relay, 5-node line", false, false},
		{"hop relay cold", hopRelayResult(false, 1.2, 9), "hop-relay-cold", "block of 1,000 transfers, per hop to the early relay, 5-node line, mempools cold", false, false},
		{"hop bytes met", hopBytesResult(17_000, 170_000), "hop-bytes", "bytes on the wire per relayed block of 1,000 transfers, mempools warm", true, true},
		{"hop bytes missed", hopBytesResult(17_001, 170_000), "hop-bytes", "bytes on the wire per relayed block of 1,000 transfers, mempools warm", true, false},
		{"ingest API", ingestResult(false, 6000), "ingest", "durable API ingest, 4 senders x 8 requests in flight", true, true},
		{"ingest API missed", ingestResult(false, 4999), "ingest", "durable API ingest, 4 senders x 8 requests in flight", true, false},
		{"ingest direct", ingestResult(true, 6000), "ingest-direct", "durable ingest without HTTP (SubmitTx), 4 senders x 8 in flight", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.r.Name != tc.row || tc.r.Figure != tc.fig {
				t.Errorf("row %q %q, want %q %q", tc.r.Name, tc.r.Figure, tc.row, tc.fig)
			}
			if got := len(tc.r.Goals) > 0; got != tc.goals {
				t.Fatalf("goals %v, want any: %v", tc.r.Goals, tc.goals)
			}
			if tc.goals && *tc.r.Met != tc.met {
				t.Errorf("met %v, want %v", *tc.r.Met, tc.met)
			}
			if !tc.goals && tc.r.Met != nil {
				t.Errorf("met %v without goals", *tc.r.Met)
			}
		})
	}
}

func TestGroupCommitNote(t *testing.T) {
	tests := []struct {
		name         string
		commits, sum float64
		total        int
		want         string
	}{
		{"no commits", 0, 0, 100, ""},
		{"ten commits", 10, 0.05, 100, "10 group commits of 10.0 transfers on average, 5.00 ms each (fsync included)"},
		{"uneven", 3, 0.003, 10, "3 group commits of 3.3 transfers on average, 1.00 ms each (fsync included)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := groupCommitNote(tc.commits, tc.sum, tc.total); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStorageTimeouts(t *testing.T) {
	tests := []struct {
		name, logs string
		want       int
	}{
		{"empty", "", 0},
		{"both words on one line", "level=WARN msg=\"storage request got no answer\"\nother\n", 1},
		{"words on separate lines", "storage\nno answer\n", 0},
		{"two", "storage: no answer\nx\nno answer from storage", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := storageTimeouts(tc.logs); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestFanOut(t *testing.T) {
	tests := []struct {
		name                   string
		senders, inflight, per int
		failAt                 int // i of sender 0 that fails; -1 none
	}{
		{"all submitted once", 4, 8, 50, -1},
		{"fewer items than goroutines", 3, 8, 2, -1},
		{"nothing to submit", 2, 2, 0, -1},
		{"an error stops the run", 2, 4, 1000, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			calls := map[[2]int]int{}
			boom := errors.New("boom")
			err := fanOut(tc.senders, tc.inflight, tc.per, func(s, i int) error {
				mu.Lock()
				calls[[2]int{s, i}]++
				mu.Unlock()
				if s == 0 && i == tc.failAt {
					return boom
				}
				return nil
			})
			for k, n := range calls {
				if n != 1 {
					t.Errorf("submit%v called %d times", k, n)
				}
			}
			if tc.failAt < 0 {
				if err != nil {
					t.Fatal(err)
				}
				if len(calls) != tc.senders*tc.per {
					t.Errorf("%d submissions, want %d", len(calls), tc.senders*tc.per)
				}
				return
			}
			if !errors.Is(err, boom) || err.Error() != "submit: boom" {
				t.Errorf("err %v, want submit: boom", err)
			}
			if len(calls) == tc.senders*tc.per {
				t.Errorf("every item submitted after an error")
			}
		})
	}
}
