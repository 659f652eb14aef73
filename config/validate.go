package config

import (
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}

	minGenesisTime = time.Unix(0, 0).UTC()
	maxGenesisTime = time.Date(9999, time.December, 31, 23, 59, 59, 999999999, time.UTC)
)

// Validate checks every key in Keys order, then the rules between keys, and returns the first
// problem as an *Error naming the key; nil means c is valid. It does not change c, and it does
// not require paths to be absolute or to exist.
//
// NB: Validate is strict about canonical forms (lower-case hex, lower-case log level); Load
// normalises what it reads before validating, so only a Config built in code can fail on case.
func (c *Config) Validate() error {
	if err := c.validate(); err != nil {
		return err
	}
	return nil
}

// validate is Validate with a concrete result type.
func (c *Config) validate() *Error { return c.validateFrom(nil) }

// validateChain checks the chain section only (LoadChain).
func (c *Config) validateChain() *Error {
	for i := range entries {
		if e := &entries[i]; e.section() == "chain" && e.check != nil {
			if err := e.check(c); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkOneOf(key, v string, allowed []string) *Error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return newError(key, fmt.Sprintf("must be one of %s; got %q", strings.Join(allowed, ", "), v))
}

func checkRange(key string, v, lo, hi int) *Error {
	if v < lo || v > hi {
		return newError(key, fmt.Sprintf("must be between %d and %d, got %d", lo, hi, v))
	}
	return nil
}

func checkMin(key string, v, lo int) *Error {
	if v < lo {
		return newError(key, fmt.Sprintf("must be >= %d, got %d", lo, v))
	}
	return nil
}

func checkPositiveDuration(key string, d time.Duration) *Error {
	if d <= 0 {
		return newError(key, fmt.Sprintf("must be > 0, got %s", d))
	}
	return nil
}

// checkScheduleDuration checks a difficulty schedule duration: >= 0 (> 0 when positive is set)
// and whole milliseconds. (A duration's milliseconds are within chainstate.MaxScheduleMs.)
func checkScheduleDuration(key string, d time.Duration, positive bool) *Error {
	switch {
	case d < 0:
		return newError(key, fmt.Sprintf("must be >= 0, got %s", d))
	case positive && d == 0:
		return newError(key, "must be > 0 when chain.target_block_time is set, got 0s")
	case d%time.Millisecond != 0:
		return newError(key, fmt.Sprintf("must be whole milliseconds, got %s", d))
	}
	return nil
}

func checkNonNegativeDuration(key string, d time.Duration) *Error {
	if d < 0 {
		return newError(key, fmt.Sprintf("must be >= 0, got %s", d))
	}
	return nil
}

func checkChainID(id string) *Error {
	ok := len(id) >= 1 && len(id) <= 64
	for i := 0; ok && i < len(id); i++ {
		ok = id[i] > ' ' && id[i] <= '~'
	}
	if !ok {
		return newError("chain.id", fmt.Sprintf("must be 1 to 64 printable ASCII characters without spaces, got %q", id))
	}
	return nil
}

func checkGenesisTime(t time.Time) *Error {
	if t.Before(minGenesisTime) || t.After(maxGenesisTime) {
		return newError("chain.genesis_time", fmt.Sprintf("must be between %s and %s, got %s",
			minGenesisTime.Format(time.RFC3339), maxGenesisTime.Format(time.RFC3339), t.Format(time.RFC3339Nano)))
	}
	return nil
}

// isHex reports whether s is exactly n lower-case hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func checkValidators(keys []string) *Error {
	for i, k := range keys {
		key := fmt.Sprintf("chain.validators[%d]", i)
		if !isHex(k, 64) {
			return newError(key, fmt.Sprintf("must be 64 lower-case hex characters (an ed25519 public key), got %q", k))
		}
		if j := slices.Index(keys[:i], k); j >= 0 {
			return newError(key, fmt.Sprintf("duplicate of chain.validators[%d]", j))
		}
	}
	return nil
}

func checkAlloc(alloc map[string]uint64) *Error {
	addrs := make([]string, 0, len(alloc))
	for a := range alloc {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	for _, a := range addrs {
		key := "chain.alloc." + a
		if !isHex(a, 40) {
			return newError(key, fmt.Sprintf("address must be 40 lower-case hex characters, got %q", a))
		}
		if alloc[a] == 0 {
			return newError(key, "balance must be > 0, got 0")
		}
	}
	return nil
}

// checkPath checks a file path: non-empty, valid UTF-8, no control characters (which are
// always a mistake in a config and cannot be written back faithfully).
func checkPath(key, p string) *Error {
	switch {
	case p == "":
		return newError(key, "must not be empty")
	case !utf8.ValidString(p):
		return newError(key, fmt.Sprintf("must be valid UTF-8, got %q", p))
	case strings.ContainsFunc(p, unicode.IsControl):
		return newError(key, fmt.Sprintf("must not contain control characters, got %q", p))
	}
	return nil
}

// hostPortProblem returns what is wrong with a HOST:PORT address, or "". needHost requires a
// non-empty host (an address others dial); minPort is 0 for listen addresses (0 = any free
// port), 1 for addresses others dial.
func hostPortProblem(addr string, needHost bool, minPort uint64) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("must be HOST:PORT, got %q", addr)
	}
	if needHost && host == "" {
		return fmt.Sprintf("host must not be empty, got %q", addr)
	}
	if strings.ContainsFunc(host, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) ||
		!utf8.ValidString(host) {
		return fmt.Sprintf("host must not contain spaces or control characters, got %q", addr)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n < minPort {
		return fmt.Sprintf("port must be a number from %d to 65535, got %q", minPort, addr)
	}
	return ""
}

func checkListen(key, addr string) *Error {
	if addr == "" {
		return nil
	}
	if p := hostPortProblem(addr, false, 0); p != "" {
		return newError(key, `must be "" or HOST:PORT: `+p)
	}
	return nil
}

func checkExternalAddr(addr string) *Error {
	if addr == "" {
		return nil
	}
	if p := hostPortProblem(addr, true, 1); p != "" {
		return newError("p2p.external_addr", `must be "" or HOST:PORT: `+p)
	}
	return nil
}

// checkAPIListen checks api.listen, including that it does not take p2p.listen's fixed port.
func checkAPIListen(c *Config) *Error {
	if err := checkListen("api.listen", c.API.Listen); err != nil {
		return err
	}
	if c.API.Listen != "" && c.API.Listen == c.P2P.Listen {
		if _, port, _ := net.SplitHostPort(c.API.Listen); port != "0" {
			return newError("api.listen", fmt.Sprintf("must differ from p2p.listen, both are %q", c.API.Listen))
		}
	}
	return nil
}

// seedProblem returns what is wrong with an ID@HOST:PORT peer address, or "".
func seedProblem(s string) string {
	id, addr, ok := strings.Cut(s, "@")
	if !ok {
		return fmt.Sprintf("must be ID@HOST:PORT, got %q", s)
	}
	if !isHex(id, 64) {
		return fmt.Sprintf("node id must be 64 lower-case hex characters, got %q", s)
	}
	if p := hostPortProblem(addr, true, 1); p != "" {
		return "must be ID@HOST:PORT: " + p
	}
	return ""
}

func checkSeeds(seeds []string) *Error {
	for i, s := range seeds {
		if p := seedProblem(s); p != "" {
			return newError(fmt.Sprintf("p2p.seeds[%d]", i), p)
		}
	}
	return nil
}
