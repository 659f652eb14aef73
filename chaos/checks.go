package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/actorchain/actorchain/localnet"
)

// Check is the outcome of one invariant: its name, whether it held and the figure behind it.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Figure string `json:"figure"`
	Detail string `json:"detail,omitempty"`
}

// The invariants, by name.
const (
	CheckNameConverged = "converged"
	CheckNameTransfers = "transfers confirmed exactly once"
	CheckNameVerify    = "node verify"
	CheckNameDeaths    = "no unexpected process exit"
	CheckNameLocks     = "no lock error logged"
	CheckNameInjected  = "every fault injected"
)

// WaitedFor adds to a failed convergence check that the wait for confirmations ended at the
// bound: left of the acked transfers were still unconfirmed on some node, so the miners were
// never switched off and the tips had no time to settle. A load that large needs a larger
// --converge; it says nothing about the tips by itself.
func WaitedFor(c Check, left, acked int) Check {
	if c.OK || left == 0 {
		return c
	}
	why := fmt.Sprintf("the wait for every node to confirm every acknowledged transfer used the whole bound (on some node %d of %d transfers not seen confirmed yet), so the miners were never switched off; a load this large needs a larger --converge", left, acked)
	if c.Detail != "" {
		why = c.Detail + "; " + why
	}
	c.Detail = why
	return c
}

// CheckConverged: every node reports the same tip, reached within bound of the heal.
func CheckConverged(tips []string, took, bound time.Duration) Check {
	c := Check{Name: CheckNameConverged}
	distinct := slices.Compact(slices.Sorted(slices.Values(tips)))
	silent := slices.Index(distinct, "") == 0
	if silent {
		distinct = distinct[1:]
	}
	c.OK = len(tips) > 0 && !silent && len(distinct) == 1 && took <= bound
	switch {
	case len(tips) == 0:
		c.Figure = "no node to ask"
	case !silent && len(distinct) == 1:
		c.Figure = fmt.Sprintf("%d nodes on tip %s after %.1fs (bound %s)", len(tips), short(distinct[0]), took.Seconds(), bound)
	default:
		c.Figure = fmt.Sprintf("%d distinct tips after %.1fs (bound %s)", len(distinct), took.Seconds(), bound)
		named := make([]string, len(tips))
		for k, t := range tips {
			if t == "" {
				t = "no answer"
			}
			named[k] = fmt.Sprintf("node%d %s", k, short(t))
		}
		c.Detail = "tips: " + strings.Join(named, ", ")
	}
	return c
}

// TxSeen is what one node says of an acknowledged transfer: the block that confirms it, or ""
// (pending, unknown or no answer).
type TxSeen map[string]string

// CheckTransfers: every acknowledged transfer occurs exactly once in the main chain (inChain counts
// each hash's occurrences) and every node reports it confirmed in the same block.
func CheckTransfers(acked []string, inChain map[string]int, seen []TxSeen) Check {
	c := Check{Name: CheckNameTransfers}
	var missing, twice, disagree []string
	for _, h := range acked {
		switch n := inChain[h]; {
		case n == 0:
			missing = append(missing, h)
		case n > 1:
			twice = append(twice, h)
		}
		var first string
		for k, s := range seen {
			b := s[h]
			if k == 0 {
				first = b
			}
			if b == "" || b != first {
				disagree = append(disagree, fmt.Sprintf("%s on node%d", short(h), k))
				break
			}
		}
	}
	once := len(acked) - len(missing) - len(twice)
	c.OK = len(acked) > 0 && len(missing) == 0 && len(twice) == 0 && len(disagree) == 0
	c.Figure = fmt.Sprintf("%d acknowledged, %d confirmed exactly once, %d missing, %d more than once, %d not confirmed alike on every node",
		len(acked), once, len(missing), len(twice), len(disagree))
	if len(acked) == 0 {
		c.Detail = "no transfer was acknowledged: the load never got through"
	}
	var d []string
	if len(missing) > 0 {
		d = append(d, "missing: "+list(missing))
	}
	if len(twice) > 0 {
		d = append(d, "more than once: "+list(twice))
	}
	if len(disagree) > 0 {
		d = append(d, "not confirmed alike: "+strings.Join(disagree[:min(len(disagree), 5)], ", "))
	}
	if len(d) > 0 {
		c.Detail = strings.Join(d, "; ")
	}
	return c
}

// Verified is the outcome of `node verify` on one home.
type Verified = localnet.Verified

// CheckVerify: `node verify` passed on every home.
func CheckVerify(vs []Verified) Check {
	c := Check{Name: CheckNameVerify, OK: len(vs) > 0}
	var heights, bad []string
	for _, v := range vs {
		heights = append(heights, fmt.Sprintf("node%d@%d", v.Node, v.Height))
		if !v.OK {
			c.OK = false
			bad = append(bad, fmt.Sprintf("node%d: %s", v.Node, v.Error))
		}
	}
	c.Figure = fmt.Sprintf("%d of %d homes verified (%s)", len(vs)-len(bad), len(vs), strings.Join(heights, " "))
	c.Detail = strings.Join(bad, "; ")
	return c
}

// Exit is a node process's exit that the harness did not cause.
type Exit struct {
	Node int           `json:"node"`
	At   time.Duration `json:"-"`
	AtS  float64       `json:"at_s"`
	How  string        `json:"how"`
}

// CheckDeaths: no node process ended except by the harness's hand (its kill -9 or its final stop,
// which must exit 0).
func CheckDeaths(exits []Exit) Check {
	c := Check{Name: CheckNameDeaths, OK: len(exits) == 0, Figure: fmt.Sprintf("%d unexpected exits", len(exits))}
	var d []string
	for _, e := range exits {
		d = append(d, fmt.Sprintf("node%d at %.1fs: %s", e.Node, e.At.Seconds(), e.How))
	}
	c.Detail = strings.Join(d, "; ")
	return c
}

// lockErrorRE matches a database lock problem in a log line: bbolt's open timeout, a home in use,
// a flock failure.
var lockErrorRE = regexp.MustCompile(`(?i)database is in use|in use by another process|acquire (the )?lock|file lock|flock|database (is )?locked|lock timeout|open[^\n]*: timeout|resource temporarily unavailable`)

// LockErrors returns the lines of a log that mention a lock error.
func LockErrors(log []byte) []string {
	var out []string
	for _, line := range strings.Split(string(log), "\n") {
		if lockErrorRE.MatchString(line) {
			out = append(out, line)
		}
	}
	return out
}

// CheckLocks: no node's log mentions a lock error (logs[k] is node k's whole log).
func CheckLocks(logs [][]byte) Check {
	c := Check{Name: CheckNameLocks, OK: true}
	n := 0
	var d []string
	for k, l := range logs {
		lines := LockErrors(l)
		n += len(lines)
		if len(lines) > 0 {
			c.OK = false
			d = append(d, fmt.Sprintf("node%d: %s", k, clip(lines[0], 300)))
		}
	}
	c.Figure = fmt.Sprintf("%d lock errors in %d logs", n, len(logs))
	c.Detail = strings.Join(d, "; ")
	return c
}

// Result is how applying one step of the timeline went.
type Result string

// Step results. A step is skipped when its target cannot take it at that moment (a connection
// actor when the node has no connection); an error is a hook that failed.
const (
	ResultOK      Result = "ok"
	ResultSkipped Result = "skipped"
	ResultError   Result = "error"
)

// Applied is one applied step of the timeline, as the transcript shows it.
type Applied struct {
	AtS      float64 `json:"at_s"`
	PlanS    float64 `json:"planned_s"`
	Kind     Kind    `json:"kind"`
	End      bool    `json:"end"`
	Fault    int     `json:"fault"`
	What     string  `json:"what"`
	Result   Result  `json:"result"`
	Detail   string  `json:"detail,omitempty"`
	Duration float64 `json:"took_s"`
}

// CheckInjected: no step of the timeline failed, and every fault kind of the schedule was
// applied at least once.
func CheckInjected(steps []Applied, kinds []Kind) Check {
	c := Check{Name: CheckNameInjected, OK: true}
	applied := map[Kind]bool{}
	var ok, skipped, failed int
	var d []string
	for _, s := range steps {
		switch s.Result {
		case ResultOK:
			ok++
			if !s.End && s.Fault >= 0 {
				applied[s.Kind] = true
			}
		case ResultSkipped:
			skipped++
		default:
			failed++
			c.OK = false
			if len(d) < 5 {
				d = append(d, fmt.Sprintf("%.1fs %s: %s", s.AtS, s.What, s.Detail))
			}
		}
	}
	var never []string
	for _, k := range kinds {
		if !applied[k] {
			never = append(never, string(k))
		}
	}
	slices.Sort(never)
	never = slices.Compact(never)
	if len(never) > 0 {
		c.OK = false
		d = append(d, "never applied: "+strings.Join(never, ", "))
	}
	c.Figure = fmt.Sprintf("%d steps: %d ok, %d skipped, %d failed; %d kinds applied", len(steps), ok, skipped, failed, len(applied))
	c.Detail = strings.Join(d, "; ")
	return c
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func list(hs []string) string {
	out := make([]string, 0, 5)
	for _, h := range hs[:min(len(hs), 5)] {
		out = append(out, short(h))
	}
	s := strings.Join(out, ", ")
	if len(hs) > 5 {
		s += fmt.Sprintf(" and %d more", len(hs)-5)
	}
	return s
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Print writes the transcript's summary: the checks with their figures and the verdict.
func (tr *Transcript) Print(w io.Writer) {
	fmt.Fprintf(w, "chaos: seed %d, %d nodes, links %s: %d transfers acknowledged, converged after %.1fs, final height %d\n",
		tr.Seed, tr.Nodes, tr.LinkMode, tr.Acked, tr.ConvergeS, tr.Height)
	for _, c := range tr.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  check %s %-34s %s\n", mark, c.Name, c.Figure)
		if c.Detail != "" {
			fmt.Fprintf(w, "             %s\n", c.Detail)
		}
	}
	verdict := "every invariant held"
	switch {
	case tr.Interrupted:
		verdict = "interrupted"
	case !tr.OK:
		verdict = "an invariant failed"
	}
	fmt.Fprintf(w, "chaos: seed %d: %s (%.1fs)\n", tr.Seed, verdict, tr.TookS)
}

// WriteJSON writes the transcript as indented JSON to path.
func (tr *Transcript) WriteJSON(path string) error {
	b, err := json.MarshalIndent(tr, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
