package chaos

import (
	"maps"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func TestLinkTable(t *testing.T) {
	faults := []Fault{
		{Kind: KindPartition, Group: []int{0}},
		{Kind: KindLink, Node: 1, Peer: 2, DelayMs: 100, Loss: 0.1},
		{Kind: KindLink, Node: 2, Peer: 1, DelayMs: 50, Loss: 0.3},
		{Kind: KindLink, Node: 0, Peer: 1, DelayMs: 10},
		{Kind: KindStorage, Node: 1},
	}
	for _, tc := range []struct {
		name   string
		active []int
		want   map[Pair]Link
	}{
		{"nothing active", nil, map[Pair]Link{}},
		{"other kinds are not links", []int{4}, map[Pair]Link{}},
		{"partition cuts both ways across", []int{0}, map[Pair]Link{
			{0, 1}: {Cut: true}, {1, 0}: {Cut: true}, {0, 2}: {Cut: true}, {2, 0}: {Cut: true},
		}},
		{"a link fault is symmetric", []int{1}, map[Pair]Link{
			{1, 2}: {DelayMs: 100, Loss: 0.1}, {2, 1}: {DelayMs: 100, Loss: 0.1},
		}},
		{"overlapping links take the worst", []int{1, 2}, map[Pair]Link{
			{1, 2}: {DelayMs: 100, Loss: 0.3}, {2, 1}: {DelayMs: 100, Loss: 0.3},
		}},
		{"a cut stays a cut under a delay", []int{0, 3}, map[Pair]Link{
			{0, 1}: {Cut: true, DelayMs: 10}, {1, 0}: {Cut: true, DelayMs: 10}, {0, 2}: {Cut: true}, {2, 0}: {Cut: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := LinkTable(faults, tc.active, 3); !maps.Equal(got, tc.want) {
				t.Fatalf("LinkTable = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLinkChanges: applying the changes from one table to another gives the other, and a table
// has no changes against itself.
func TestLinkChanges(t *testing.T) {
	genTable := func(t *rapid.T, label string) map[Pair]Link {
		m := map[Pair]Link{}
		for _, p := range rapid.SliceOf(rapid.IntRange(0, 15)).Draw(t, label) {
			from, to := p/4, p%4
			if from == to {
				continue
			}
			m[Pair{from, to}] = Link{Cut: p%2 == 0, DelayMs: p * 10, Loss: float64(p%5) / 10}
		}
		return m
	}
	rapid.Check(t, func(t *rapid.T) {
		old, next := genTable(t, "old"), genTable(t, "new")
		got := maps.Clone(old)
		changes := LinkChanges(old, next)
		for _, c := range changes {
			if c.Link == (Link{}) {
				delete(got, c.Pair)
			} else {
				got[c.Pair] = c.Link
			}
		}
		if !maps.Equal(got, next) {
			t.Fatalf("old %v + changes %v = %v, want %v", old, changes, got, next)
		}
		if !slices.IsSortedFunc(changes, func(a, b LinkChange) int {
			if a.From != b.From {
				return a.From - b.From
			}
			return a.To - b.To
		}) {
			t.Fatalf("changes not in order: %v", changes)
		}
		if c := LinkChanges(next, next); len(c) != 0 {
			t.Fatalf("a table changes against itself: %v", c)
		}
	})
}
