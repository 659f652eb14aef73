package supervisor

import "time"

// Limit names the restart limit that a restart went over.
type Limit string

// The limits a Budget enforces.
const (
	// LimitNone: the restart is allowed.
	LimitNone Limit = ""
	// LimitIntensity: more restarts than the short intensity window allows (OTP's MaxR in MaxT:
	// a fast crash loop).
	LimitIntensity Limit = "intensity"
	// LimitBudget: more restarts than the long restart budget allows (a slow crash loop that
	// the intensity window never sees, e.g. one crash every 3 s forever).
	LimitBudget Limit = "budget"
)

// Budget is the restart bookkeeping of one child: its short intensity Window and, optionally, a
// long restart budget (a second Window, typically 10 restarts in 5 minutes). Like Window it is a
// pure value with no clock and no goroutines: the caller passes the time, and it is not safe for
// concurrent use. Every restart is recorded in both windows, so the long one sees the restarts
// that the short one forgave.
type Budget struct {
	intensity *Window
	budget    *Window // nil: no long budget
}

// NewBudget returns the bookkeeping for an intensity and a long budget, both taken literally as
// NewWindow takes them; a zero budget means none (only the intensity applies).
func NewBudget(intensity, budget Intensity) *Budget {
	b := &Budget{intensity: NewWindow(intensity)}
	if budget != (Intensity{}) {
		b.budget = NewWindow(budget)
	}
	return b
}

// Record records one restart at now in both windows and returns the limit it goes over:
// LimitNone when it is allowed, LimitIntensity when the short window is over its MaxRestarts
// (checked first: it is the faster loop), else LimitBudget when the long budget is.
func (b *Budget) Record(now time.Time) Limit {
	okShort := b.intensity.Record(now)
	okLong := true
	if b.budget != nil {
		okLong = b.budget.Record(now)
	}
	switch {
	case !okShort:
		return LimitIntensity
	case !okLong:
		return LimitBudget
	}
	return LimitNone
}

// Count returns how many recorded restarts are inside the window of limit l at now (0 for a
// limit the budget does not have).
func (b *Budget) Count(l Limit, now time.Time) int {
	if w := b.window(l); w != nil {
		return w.Count(now)
	}
	return 0
}

// Intensity returns the limit l as configured (the zero value for LimitNone, or for
// LimitBudget when there is no long budget).
func (b *Budget) Intensity(l Limit) Intensity {
	if w := b.window(l); w != nil {
		return w.Intensity()
	}
	return Intensity{}
}

func (b *Budget) window(l Limit) *Window {
	switch l {
	case LimitIntensity:
		return b.intensity
	case LimitBudget:
		return b.budget
	}
	return nil
}
