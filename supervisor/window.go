package supervisor

import "time"

// Intensity bounds how often a child may be restarted: more than MaxRestarts restarts (restarts
// after a panic plus replacements after a kill) within Window means the supervisor gives up on
// that child (OTP's MaxR and MaxT).
//
// A zero Intensity in a Spec means the default, 5 restarts in 10 s. Otherwise the values are taken
// as they are: MaxRestarts 0 gives up at the first failure, and a Window <= 0 never forgets a
// restart (a lifetime budget of MaxRestarts).
type Intensity struct {
	MaxRestarts int
	Window      time.Duration
}

// DefaultIntensity is used for a Spec whose Intensity is the zero value.
var DefaultIntensity = Intensity{MaxRestarts: 5, Window: 10 * time.Second}

// Window is the restart-window bookkeeping of one child: a pure value with no clock and no
// goroutines; the caller passes the current time. It is not safe for concurrent use (a Group only
// uses it on its parent's goroutine).
//
// Times passed to Record and Count must not go backwards: a time earlier than the latest one
// recorded is treated as that latest time.
type Window struct {
	in    Intensity
	times []time.Time // restarts still inside the window, oldest first (Window > 0 only)
	total int         // every restart ever recorded (used when Window <= 0)
	last  time.Time   // latest time recorded
}

// NewWindow returns an empty window for in, taken literally (no defaults are applied).
func NewWindow(in Intensity) *Window {
	if in.MaxRestarts < 0 {
		in.MaxRestarts = 0
	}
	return &Window{in: in}
}

// Record records one restart at now and reports whether it is allowed, that is whether the
// number of restarts in the window, this one included, is at most MaxRestarts. It returns false
// once the intensity is exceeded (and keeps returning false while the window is that full).
func (w *Window) Record(now time.Time) (allowed bool) {
	now = w.clamp(now)
	w.last = now
	w.total++
	if w.in.Window <= 0 {
		return w.total <= w.in.MaxRestarts
	}
	w.prune(now)
	w.times = append(w.times, now)
	return len(w.times) <= w.in.MaxRestarts
}

// Count returns how many recorded restarts are inside the window at now: those recorded less
// than Window before now (all of them when Window <= 0). It does not change w.
func (w *Window) Count(now time.Time) int {
	if w.in.Window <= 0 {
		return w.total
	}
	now = w.clamp(now)
	n := 0
	for _, t := range w.times {
		if now.Sub(t) < w.in.Window {
			n++
		}
	}
	return n
}

// Intensity returns the intensity the window enforces.
func (w *Window) Intensity() Intensity { return w.in }

func (w *Window) clamp(now time.Time) time.Time {
	if now.Before(w.last) {
		return w.last
	}
	return now
}

// prune drops the restarts that fell out of the window at now.
func (w *Window) prune(now time.Time) {
	i := 0
	for i < len(w.times) && now.Sub(w.times[i]) >= w.in.Window {
		i++
	}
	if i > 0 {
		w.times = append(w.times[:0], w.times[i:]...)
	}
}
