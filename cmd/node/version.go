package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/actorchain/actorchain/actors"
)

// versionInfo is what `node version` and `node --version` print (CONTRACT §11): the version
// (actors.Version, set at build time with -ldflags "-X .../actors.Version=..."), the VCS revision
// and whether the tree had uncommitted changes (from the build info the go command stamps into
// a binary built inside a git checkout), and the Go version.
type versionInfo struct {
	Version      string `json:"version"`
	Revision     string `json:"revision"`      // "" when the build has no VCS information
	RevisionTime string `json:"revision_time"` // the commit's time (RFC 3339), "" when unknown
	Modified     bool   `json:"modified"`      // the tree had uncommitted changes at build time
	GoVersion    string `json:"go_version"`
	Platform     string `json:"platform"` // GOOS/GOARCH
}

// ldRevision and ldModified are the revision and the modified flag `make build` passes with
// -ldflags "-X main.ldRevision=... -X main.ldModified=true": used when the build info has no VCS
// stamp (GOFLAGS=-buildvcs=false, or a git worktree, whose .git is a file the go command does
// not stamp from).
var ldRevision, ldModified string

// readVersion assembles the version from version and the build info read returns
// (debug.ReadBuildInfo in the binary; a fake in tests). A build without VCS stamping (go test,
// go run, -buildvcs=false, a tree outside git) has no revision.
func readVersion(version string, read func() (*debug.BuildInfo, bool)) versionInfo {
	v := versionInfo{Version: version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	v.Revision, v.Modified = ldRevision, ldModified == "true"
	bi, ok := read()
	if !ok || bi == nil {
		return v
	}
	if bi.GoVersion != "" {
		v.GoVersion = bi.GoVersion
	}
	var rev, at string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev != "" { // the stamp wins over the linker flags
		v.Revision, v.RevisionTime, v.Modified = rev, at, modified
	}
	return v
}

// String is the text form, three lines:
//
//	actorchain node 0.1.0-dev
//	revision: 1a2b3c... (modified)
//	go: go1.26.8 linux/amd64
func (v versionInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "actorchain node %s\n", v.Version)
	switch {
	case v.Revision == "":
		b.WriteString("revision: unknown (built without VCS information)\n")
	default:
		b.WriteString("revision: " + v.Revision)
		if v.RevisionTime != "" {
			b.WriteString(" " + v.RevisionTime)
		}
		if v.Modified {
			b.WriteString(" (modified)")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "go: %s %s", v.GoVersion, v.Platform)
	return b.String()
}

// buildVersion is this binary's version.
func buildVersion() versionInfo { return readVersion(actors.Version, debug.ReadBuildInfo) }

// setVersionFlag gives root cobra's --version flag, printing what `node version` prints.
func setVersionFlag(root *cobra.Command) {
	root.Version = buildVersion().String()
	root.SetVersionTemplate("{{.Version}}\n")
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the version, the VCS revision and the Go version (also: node --version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := buildVersion()
			if asJSON {
				return printJSON(cmd.OutOrStdout(), v)
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), v.String())
			return err
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print {version, revision, revision_time, modified, go_version, platform} as JSON")
	return c
}
