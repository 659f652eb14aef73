package supervisor

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestWindowRecord(t *testing.T) {
	at := func(sec float64) time.Time {
		return time.Unix(1_000_000, 0).Add(time.Duration(sec * float64(time.Second)))
	}
	tests := []struct {
		name      string
		in        Intensity
		times     []float64 // seconds of each Record
		want      []bool
		countAt   float64
		wantCount int
	}{
		{"within budget", Intensity{3, 10 * time.Second}, []float64{0, 1, 2}, []bool{true, true, true}, 2, 3},
		{"one too many", Intensity{2, 10 * time.Second}, []float64{0, 1, 2}, []bool{true, true, false}, 2, 3},
		{"old restarts expire", Intensity{2, 10 * time.Second}, []float64{0, 5, 10, 11}, []bool{true, true, true, false}, 11, 3},
		{"window edge excluded", Intensity{1, 10 * time.Second}, []float64{0, 10}, []bool{true, true}, 10, 1},
		{"just inside the window", Intensity{1, 10 * time.Second}, []float64{0, 9.999}, []bool{true, false}, 9.999, 2},
		{"count after expiry", Intensity{5, 10 * time.Second}, []float64{0, 1, 2}, []bool{true, true, true}, 11.5, 1},
		{"count after full expiry", Intensity{5, 10 * time.Second}, []float64{0, 1, 2}, []bool{true, true, true}, 12, 0},
		{"zero budget", Intensity{0, time.Second}, []float64{0}, []bool{false}, 0, 1},
		{"negative budget is zero", Intensity{-3, time.Second}, []float64{0}, []bool{false}, 0, 1},
		{"lifetime window", Intensity{2, 0}, []float64{0, 1e6, 2e6}, []bool{true, true, false}, 3e6, 3},
		{"time going backwards is clamped", Intensity{1, 10 * time.Second}, []float64{20, 5}, []bool{true, false}, 21, 2},
		{"recovers after the window", Intensity{1, 10 * time.Second}, []float64{0, 1, 30}, []bool{true, false, true}, 30, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWindow(tt.in)
			for i, s := range tt.times {
				if got := w.Record(at(s)); got != tt.want[i] {
					t.Fatalf("Record #%d at %vs = %v, want %v", i, s, got, tt.want[i])
				}
			}
			if got := w.Count(at(tt.countAt)); got != tt.wantCount {
				t.Fatalf("Count at %vs = %d, want %d", tt.countAt, got, tt.wantCount)
			}
		})
	}
}

// TestWindowModel checks Window against a list of every restart time.
func TestWindowModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := Intensity{
			MaxRestarts: rapid.IntRange(0, 4).Draw(t, "max_restarts"),
			Window:      time.Duration(rapid.IntRange(0, 6).Draw(t, "window_s")) * time.Second,
		}
		w := NewWindow(in)
		var model []time.Time // every recorded restart, as clamped
		now := time.Unix(1_000_000, 0)
		var latest time.Time // latest recorded time (zero before the first)
		clamp := func(at time.Time) time.Time {
			if at.Before(latest) {
				return latest
			}
			return at
		}
		count := func(at time.Time) int {
			at = clamp(at)
			n := 0
			for _, ts := range model {
				if in.Window <= 0 || at.Sub(ts) < in.Window {
					n++
				}
			}
			return n
		}
		// Steps of half a second hit the window's edge exactly.
		step := func(t *rapid.T) time.Duration {
			return time.Duration(rapid.IntRange(0, 16).Draw(t, "half_seconds")) * time.Second / 2
		}
		t.Repeat(map[string]func(*rapid.T){
			"record": func(t *rapid.T) {
				now = now.Add(step(t))
				got := w.Record(now)
				latest = clamp(now)
				model = append(model, latest)
				if want := count(now) <= in.MaxRestarts; got != want {
					t.Fatalf("Record(%v) = %v, want %v (model %d in window)", now, got, want, count(now))
				}
			},
			"record in the past": func(t *rapid.T) {
				past := now.Add(-step(t))
				got := w.Record(past)
				latest = clamp(past)
				model = append(model, latest)
				if want := count(past) <= in.MaxRestarts; got != want {
					t.Fatalf("Record(past %v) = %v, want %v", past, got, want)
				}
			},
			"count": func(t *rapid.T) {
				at := now.Add(step(t))
				if got, want := w.Count(at), count(at); got != want {
					t.Fatalf("Count(+%v) = %d, want %d", at.Sub(now), got, want)
				}
			},
			"advance": func(t *rapid.T) {
				now = now.Add(step(t))
			},
			"": func(t *rapid.T) {
				if got, want := w.Count(now), count(now); got != want {
					t.Fatalf("Count(now) = %d, want %d", got, want)
				}
				if got := w.Count(now.Add(-time.Hour)); got != count(latest) {
					t.Fatalf("Count(past) = %d, want the count at the latest time %d", got, count(latest))
				}
			},
		})
	})
}
