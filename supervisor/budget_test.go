package supervisor

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestBudgetRecord(t *testing.T) {
	at := func(sec float64) time.Time {
		return time.Unix(1_000_000, 0).Add(time.Duration(sec * float64(time.Second)))
	}
	short := Intensity{MaxRestarts: 5, Window: 10 * time.Second}
	long := Intensity{MaxRestarts: 4, Window: 2 * time.Minute}
	tests := []struct {
		name          string
		intensity     Intensity
		budget        Intensity
		times         []float64
		want          []Limit
		countAt       float64
		wantIntensity int
		wantBudget    int
	}{
		{"no budget: only the intensity", short, Intensity{}, []float64{0, 3, 6, 9, 12, 15, 18},
			[]Limit{"", "", "", "", "", "", ""}, 18, 4, 0},
		{"slow loop exceeds the budget (the acceptance's crash every 3 s)", short, long, []float64{0, 3, 6, 9, 12},
			[]Limit{"", "", "", "", LimitBudget}, 12, 4, 5},
		{"fast loop exceeds the intensity first", Intensity{MaxRestarts: 2, Window: 10 * time.Second}, long, []float64{0, 1, 2},
			[]Limit{"", "", LimitIntensity}, 2, 3, 3},
		{"both over: intensity reported", Intensity{MaxRestarts: 1, Window: 10 * time.Second}, Intensity{MaxRestarts: 1, Window: time.Minute}, []float64{0, 1},
			[]Limit{"", LimitIntensity}, 1, 2, 2},
		{"budget forgets after its window", short, long, []float64{0, 30, 60, 90, 121, 150},
			[]Limit{"", "", "", "", "", ""}, 150, 1, 4},
		{"the default budget: 10 in 5 m", short, Intensity{MaxRestarts: 10, Window: 5 * time.Minute},
			[]float64{0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200}, []Limit{"", "", "", "", "", "", "", "", "", "", LimitBudget}, 200, 1, 11},
		{"lifetime budget", short, Intensity{MaxRestarts: 2, Window: 0}, []float64{0, 1e5, 2e5},
			[]Limit{"", "", LimitBudget}, 3e5, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBudget(tt.intensity, tt.budget)
			for i, s := range tt.times {
				if got := b.Record(at(s)); got != tt.want[i] {
					t.Fatalf("Record #%d at %vs = %q, want %q", i, s, got, tt.want[i])
				}
			}
			if got := b.Count(LimitIntensity, at(tt.countAt)); got != tt.wantIntensity {
				t.Fatalf("Count(intensity) at %vs = %d, want %d", tt.countAt, got, tt.wantIntensity)
			}
			if got := b.Count(LimitBudget, at(tt.countAt)); got != tt.wantBudget {
				t.Fatalf("Count(budget) at %vs = %d, want %d", tt.countAt, got, tt.wantBudget)
			}
			if got := b.Intensity(LimitIntensity); got != tt.intensity {
				t.Fatalf("Intensity(intensity) = %v, want %v", got, tt.intensity)
			}
			if got := b.Intensity(LimitBudget); got != tt.budget {
				t.Fatalf("Intensity(budget) = %v, want %v", got, tt.budget)
			}
			if got := b.Count(LimitNone, at(tt.countAt)); got != 0 {
				t.Fatalf("Count(none) = %d, want 0", got)
			}
		})
	}
}

// TestBudgetModel checks Budget against the list of every restart time: a restart is over the
// intensity when more than its MaxRestarts of the restarts so far (this one included) lie within
// its window, and over the budget likewise for the long window.
func TestBudgetModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := Intensity{
			MaxRestarts: rapid.IntRange(0, 5).Draw(t, "max_restarts"),
			Window:      time.Duration(rapid.IntRange(1, 10).Draw(t, "window_s")) * time.Second,
		}
		var bud Intensity
		if rapid.Bool().Draw(t, "has_budget") {
			bud = Intensity{
				MaxRestarts: rapid.IntRange(0, 12).Draw(t, "budget_max"),
				Window:      time.Duration(rapid.IntRange(0, 60).Draw(t, "budget_window_s")) * time.Second,
			}
		}
		b := NewBudget(in, bud)
		var model []time.Time
		now := time.Unix(1_000_000, 0)
		within := func(w time.Duration, at time.Time) int {
			n := 0
			for _, x := range model {
				if w <= 0 || at.Sub(x) < w {
					n++
				}
			}
			return n
		}
		steps := rapid.IntRange(1, 40).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			now = now.Add(time.Duration(rapid.IntRange(0, 8000).Draw(t, "gap_ms")) * time.Millisecond)
			model = append(model, now)
			want := LimitNone
			switch {
			case within(in.Window, now) > in.MaxRestarts:
				want = LimitIntensity
			case bud != (Intensity{}) && within(bud.Window, now) > bud.MaxRestarts:
				want = LimitBudget
			}
			if got := b.Record(now); got != want {
				t.Fatalf("restart %d at +%v: Record = %q, want %q", i, now.Sub(time.Unix(1_000_000, 0)), got, want)
			}
			if bud != (Intensity{}) {
				if got, want := b.Count(LimitBudget, now), within(bud.Window, now); got != want {
					t.Fatalf("Count(budget) = %d, want %d", got, want)
				}
			}
		}
	})
}
