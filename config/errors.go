package config

// Error is a configuration problem: an unknown key or environment variable, a value that does
// not parse, a value that fails validation, or a config file that cannot be read. The CLI exits
// with code 2 on it.
//
// Error() is "config: <Key>: <Problem>", followed by " (from <Env>)" when the value came from an
// environment variable, e.g. "config: p2p.max_inbound: must be >= 0, got -1".
type Error struct {
	// Key names what is wrong: a key path ("p2p.max_inbound"), the path of an element inside a
	// key ("chain.validators[1]", "chain.alloc.<address>"), an unknown path found in the file
	// ("p2p.bogus"), an unknown environment variable ("ACTORCHAIN_BOGUS"), or, for problems
	// with the file as a whole (unreadable, not YAML), the file's path.
	Key string
	// Problem says what is wrong with it, e.g. "unknown key" or "must be >= 0, got -1".
	Problem string
	// Env is the environment variable the offending value came from, or "" when it came from
	// the file, the defaults or the caller.
	Env string
	// Err is the underlying cause when there is one (e.g. an fs error); see Unwrap.
	Err error
}

// Error returns "config: <Key>: <Problem>", plus " (from <Env>)" when Env is set.
func (e *Error) Error() string {
	s := "config: " + e.Key + ": " + e.Problem
	if e.Env != "" {
		s += " (from " + e.Env + ")"
	}
	return s
}

// Unwrap returns the underlying cause, or nil.
func (e *Error) Unwrap() error { return e.Err }

// newError is a shorthand for the common case of an Error without an environment variable or cause.
func newError(key, problem string) *Error { return &Error{Key: key, Problem: problem} }
