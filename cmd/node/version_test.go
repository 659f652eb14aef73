package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/actorchain/actorchain/actors"
)

func TestReadVersion(t *testing.T) {
	stamped := func(mod string, extra ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			s := append([]debug.BuildSetting{
				{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
				{Key: "vcs.time", Value: "2026-11-30T10:00:00Z"},
				{Key: "vcs.modified", Value: mod},
			}, extra...)
			return &debug.BuildInfo{GoVersion: "go1.99.1", Settings: s}, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	unstamped := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.99.2", Settings: []debug.BuildSetting{{Key: "-buildmode", Value: "exe"}}}, true
	}
	cases := []struct {
		name          string
		ldRev, ldMod  string
		read          func() (*debug.BuildInfo, bool)
		rev, goVer    string
		modified      bool
		lines         []string
		notInTheLines string
	}{
		{name: "clean stamp", read: stamped("false"), rev: "0123456789abcdef0123456789abcdef01234567", goVer: "go1.99.1",
			lines: []string{"actorchain node 7.7.7", "revision: 0123456789abcdef0123456789abcdef01234567 2026-11-30T10:00:00Z", "go: go1.99.1 "}, notInTheLines: "modified"},
		{name: "modified stamp", read: stamped("true"), rev: "0123456789abcdef0123456789abcdef01234567", goVer: "go1.99.1", modified: true,
			lines: []string{"(modified)"}},
		{name: "stamp wins over linker flags", ldRev: "ffff", ldMod: "true", read: stamped("false"),
			rev: "0123456789abcdef0123456789abcdef01234567", goVer: "go1.99.1", notInTheLines: "modified"},
		{name: "no build info", read: none, goVer: runtime.Version(),
			lines: []string{"revision: unknown (built without VCS information)", "go: " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}},
		{name: "no stamp", read: unstamped, goVer: "go1.99.2", lines: []string{"revision: unknown"}},
		{name: "linker flags without a stamp", ldRev: "abcd", ldMod: "true", read: unstamped, rev: "abcd", goVer: "go1.99.2", modified: true,
			lines: []string{"revision: abcd (modified)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			oldRev, oldMod := ldRevision, ldModified
			ldRevision, ldModified = c.ldRev, c.ldMod
			t.Cleanup(func() { ldRevision, ldModified = oldRev, oldMod })
			v := readVersion("7.7.7", c.read)
			if v.Version != "7.7.7" || v.Revision != c.rev || v.GoVersion != c.goVer || v.Modified != c.modified {
				t.Fatalf("got %+v, want revision %q go %q modified %v", v, c.rev, c.goVer, c.modified)
			}
			s := v.String()
			if n := strings.Count(s, "\n"); n != 2 {
				t.Errorf("want three lines, got %d:\n%s", n+1, s)
			}
			for _, l := range c.lines {
				if !strings.Contains(s, l) {
					t.Errorf("missing %q in:\n%s", l, s)
				}
			}
			if c.notInTheLines != "" && strings.Contains(s, c.notInTheLines) {
				t.Errorf("%q in:\n%s", c.notInTheLines, s)
			}
		})
	}
}

// TestVersionForms: `node --version` and `node version` print the same three lines, with the
// version and the Go version; --json gives the fields.
func TestVersionForms(t *testing.T) {
	flag := cli(t, "--version").want(t, exitOK)
	cmd := cli(t, "version").want(t, exitOK)
	if flag != cmd {
		t.Fatalf("--version and version differ:\n%s\n---\n%s", flag, cmd)
	}
	if !strings.HasPrefix(cmd, "actorchain node "+actors.Version+"\n") || !strings.Contains(cmd, "\ngo: "+runtime.Version()) ||
		!strings.Contains(cmd, "\nrevision: ") {
		t.Fatalf("version printed %q", cmd)
	}
	v := decode[versionInfo](t, cli(t, "version", "--json").want(t, exitOK))
	if v.Version != actors.Version || v.GoVersion != runtime.Version() || v.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Fatalf("version --json: %+v", v)
	}
	if r := cli(t, "version", "extra"); r.code != exitUsage {
		t.Fatalf("version with an argument: exit %d, want %d", r.code, exitUsage)
	}
}

// TestVersionOfABuiltBinary builds the node as `make build` does, with the version and the
// revision given to the linker, and runs both forms in the binary: the -X flags reach
// actors.Version (which /v1/status reports too) and the revision line.
func TestVersionOfABuiltBinary(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("SKIPPED: no go command on PATH to build the binary with")
	}
	bin := filepath.Join(t.TempDir(), "node")
	ld := "-X github.com/actorchain/actorchain/actors.Version=9.8.7-test -X main.ldRevision=feedc0de -X main.ldModified=true"
	build := exec.Command(goTool, "build", "-buildvcs=false", "-ldflags", ld, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("node %v: %v\n%s", args, err, out)
		}
		want := "actorchain node 9.8.7-test\nrevision: feedc0de (modified)\ngo: " + runtime.Version()
		if !strings.HasPrefix(string(out), want) {
			t.Fatalf("node %v printed\n%s\nwant it to start with\n%s", args, out, want)
		}
	}
}
