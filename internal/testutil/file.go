package testutil

import (
	"crypto/sha256"
	"os"
	"testing"
)

// FileSum is the SHA-256 of the file at path (failing t when it cannot be read): to show that a
// command left a file unchanged, or moved it aside as it was.
func FileSum(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
