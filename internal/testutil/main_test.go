package testutil

import "testing"

// TestMain checks with goleak (VerifyMain) that no test leaves a goroutine behind.
func TestMain(m *testing.M) { VerifyMain(m) }
