package testutil

import (
	"flag"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// VerifyMain is the TestMain of a test package: it applies RAPID_CHECKS (the number of cases of
// every rapid property, fixed by make check) to the rapid.checks flag when the package links
// rapid, runs the tests and fails the binary when a goroutine outlives them. opts is the
// package's own goleak ignore list, if any.
//
// A package whose test binary doubles as a helper process checks for that first and calls
// VerifyMain only for a test run.
func VerifyMain(m *testing.M, opts ...goleak.Option) {
	flag.Parse()
	if v := os.Getenv("RAPID_CHECKS"); v != "" && flag.Lookup("rapid.checks") != nil {
		_ = flag.Set("rapid.checks", v)
	}
	goleak.VerifyTestMain(m, opts...)
}
