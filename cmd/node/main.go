package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

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

// cliIO is what a command run talks to besides its arguments: the process's stdout, stderr and
// SIGINT/SIGTERM in main, buffers and a test-driven channel in the tests.
type cliIO struct {
	out, err io.Writer
	// signals subscribes to the stop signals (SIGINT, SIGTERM); the returned func unsubscribes.
	signals func() (<-chan os.Signal, func())
}

// processIO is the real process: os.Stdout, os.Stderr and signal.Notify.
func processIO() cliIO {
	return cliIO{
		out: os.Stdout,
		err: os.Stderr,
		signals: func() (<-chan os.Signal, func()) {
			c := make(chan os.Signal, 2)
			signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
			return c, func() { signal.Stop(c) }
		},
	}
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int { return runCLI(args, processIO()) }

// runCLI runs one command line and returns its exit code (CONTRACT §1).
func runCLI(args []string, io cliIO) int {
	cmd := newRootCmd(io)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(io.err, "node:", withDamageHint(err))
	var ue *usageError
	var ce *config.Error
	if errors.As(err, &ue) || errors.As(err, &ce) {
		return exitUsage
	}
	return exitFailure
}
