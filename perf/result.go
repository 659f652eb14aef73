package perf

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Result is one row of the table: a figure and, when it has one, the limit it is measured
// against in the same run, their ratio, and the goal.
type Result struct {
	// Name is the measurement that produced the row (what --only selects).
	Name string `json:"name"`
	// Figure says what was measured.
	Figure string  `json:"figure"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	// LimitName says what the limit is; empty for an absolute figure (Limit and Ratio are then 0).
	LimitName string  `json:"limit_name,omitempty"`
	Limit     float64 `json:"limit,omitempty"`
	LimitUnit string  `json:"limit_unit,omitempty"`
	// Ratio is Value / Limit.
	Ratio float64 `json:"ratio,omitempty"`
	// Goals are what the figure should meet; none for a scaling row.
	Goals []Goal `json:"goals,omitempty"`
	// Met is whether every goal holds (nil without goals).
	Met *bool `json:"met,omitempty"`
	// Note is anything else worth reading next to the figure.
	Note string `json:"note,omitempty"`
}

// Goal bounds the ratio (On "ratio") or the value (On "value") with Op ">=", "<=" or "<".
type Goal struct {
	On    string  `json:"on"`
	Op    string  `json:"op"`
	Bound float64 `json:"bound"`
}

func (g Goal) String() string {
	s := strconv.FormatFloat(g.Bound, 'f', -1, 64)
	if g.On == "ratio" {
		return g.Op + " " + s
	}
	return g.Op + " " + s + " (value)"
}

func (g Goal) met(r *Result) bool {
	v := r.Value
	if g.On == "ratio" {
		v = r.Ratio
	}
	switch g.Op {
	case ">=":
		return v >= g.Bound
	case "<=":
		return v <= g.Bound
	case "<":
		return v < g.Bound
	}
	return false
}

func atLeast(b float64) Goal      { return Goal{On: "ratio", Op: ">=", Bound: b} }
func atMost(b float64) Goal       { return Goal{On: "ratio", Op: "<=", Bound: b} }
func valueAtLeast(b float64) Goal { return Goal{On: "value", Op: ">=", Bound: b} }
func valueBelow(b float64) Goal   { return Goal{On: "value", Op: "<", Bound: b} }
func valueAtMost(b float64) Goal  { return Goal{On: "value", Op: "<=", Bound: b} }

// absolute is a row without a limit.
func absolute(name, figure string, value float64, unit string, goals ...Goal) Result {
	r := Result{Name: name, Figure: figure, Value: value, Unit: unit, Goals: goals}
	r.judge()
	return r
}

// relative is a row measured against a limit; the ratio is value / limit.
func relative(name, figure string, value float64, unit, limitName string, limit float64, limitUnit string, goals ...Goal) Result {
	r := Result{Name: name, Figure: figure, Value: value, Unit: unit, LimitName: limitName, Limit: limit, LimitUnit: limitUnit, Goals: goals}
	if limit > 0 {
		r.Ratio = value / limit
	}
	r.judge()
	return r
}

func (r *Result) judge() {
	if len(r.Goals) == 0 {
		r.Met = nil
		return
	}
	ok := true
	for _, g := range r.Goals {
		ok = ok && g.met(r)
	}
	r.Met = &ok
}

// WriteTable prints results as an aligned text table.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tVALUE\tLIMIT (same run)\tRATIO\tGOAL\tMET")
	for _, r := range results {
		limit, ratio := "(absolute)", "-"
		if r.LimitName != "" {
			limit = fmt.Sprintf("%s %s: %s", num(r.Limit), r.LimitUnit, r.LimitName)
			ratio = fmt.Sprintf("%.3f", r.Ratio)
		}
		var goals []string
		for _, g := range r.Goals {
			goals = append(goals, g.String())
		}
		met := "-"
		if r.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*r.Met]
		}
		goal := strings.Join(goals, ", ")
		if goal == "" {
			goal = "(none)"
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\t%s\n", r.Figure, num(r.Value), r.Unit, limit, ratio, goal, met)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range results {
		if r.Note != "" {
			if _, err := fmt.Fprintf(w, "  %s: %s\n", r.Figure, r.Note); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteJSON prints results as {"results": [...]}.
func WriteJSON(w io.Writer, results []Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Results []Result `json:"results"`
	}{results})
}

// num prints a figure with about 4 significant digits.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 10000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}
