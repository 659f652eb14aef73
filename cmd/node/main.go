// Command node runs an Actorchain node and talks to a running one. See README.md and
// docs/config.md; the interface is fixed by CONTRACT §1.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/actorchain/actorchain/config"
)

// Exit codes (CONTRACT §1).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitForced  = 130
)

// usageError is bad usage: exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return &usageError{fmt.Errorf(format, a...)} }

// exitError carries a specific exit code.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cmd := newRootCmd()
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "node:", err)
	var ue *usageError
	var ce *config.Error
	if errors.As(err, &ue) || errors.As(err, &ce) {
		return exitUsage
	}
	return exitFailure
}
