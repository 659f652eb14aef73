// Package testutil holds the helpers that the project's test packages share, so that each exists
// once: VerifyMain (the goleak TestMain of every test package), LogBuffer and Record (a
// goroutine-safe sink for a node's slog JSON log and its parsed records), WaitFor (poll a
// condition with a deadline), Clock (a settable clock), FileSum (a file's SHA-256)
// and CheckCorpus (the committed seed corpus of a package's fuzz targets).
//
// Only tests import it: no production package may (resilience_test/TestImportDirection fails
// when one does). It imports only goleak and the standard library, so that the internal test
// files of any package (chainstate's, noisep2p's, ...) can use it without an import cycle.
//
// # Usage
//
//	func TestMain(m *testing.M) { testutil.VerifyMain(m) }
//
//	logs := &testutil.LogBuffer{}
//	log := slog.New(slog.NewJSONHandler(logs, nil))
//	...
//	testutil.WaitFor(t, 5*time.Second, "the restart record", func() bool {
//		return len(logs.Records("actor restarted")) > 0
//	})
//
// WaitFor is a bounded poll, not a sleep standing in for synchronisation: it returns as soon as
// the condition holds and fails the test when the deadline passes first.
package testutil
