package testutil

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CheckCorpus compares testdata/fuzz/<target>/<name> of the current package with the go test
// corpus file of every entry's arguments (each a uint8 or a []byte), and with FUZZ_CORPUS=write
// writes them instead:
//
//	FUZZ_CORPUS=write go test -run TestFuzzCorpus ./<package>/
//
// A missing or stale file is an error naming that command. Files it does not generate (crashers
// the fuzzer found, committed under their own names) are left alone.
func CheckCorpus(t *testing.T, targets map[string]map[string][]any) {
	t.Helper()
	write := os.Getenv("FUZZ_CORPUS") == "write"
	for target, entries := range targets {
		dir := filepath.Join("testdata", "fuzz", target)
		if write {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for name, args := range entries {
			want, err := corpusFile(args)
			if err != nil {
				t.Fatalf("%s/%s: %v", target, name, err)
			}
			path := filepath.Join(dir, name)
			if write {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("seed corpus file %s is missing or stale (%v): run FUZZ_CORPUS=write go test -run TestFuzzCorpus %s", path, err, packageDir())
			}
		}
	}
}

// BytesCorpus turns entries of a single []byte argument into CheckCorpus's form.
func BytesCorpus(m map[string][]byte) map[string][]any {
	out := make(map[string][]any, len(m))
	for k, v := range m {
		out[k] = []any{v}
	}
	return out
}

// corpusFile is the go test fuzz v1 encoding of args.
func corpusFile(args []any) ([]byte, error) {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case uint8:
			fmt.Fprintf(&b, "byte(%q)\n", v)
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		default:
			return nil, fmt.Errorf("unsupported argument type %T", a)
		}
	}
	return []byte(b.String()), nil
}

// packageDir is the current directory (go test runs a package's tests in its directory) relative
// to the module root, as ./dir/ ("." when it cannot tell).
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for root := wd; ; {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			rel, err := filepath.Rel(root, wd)
			if err != nil {
				return "."
			}
			return "./" + filepath.ToSlash(rel) + "/"
		}
		up := filepath.Dir(root)
		if up == root {
			return "."
		}
		root = up
	}
}
