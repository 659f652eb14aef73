package resilience_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/actorchain/actorchain/"

// allowedImports is ARCHITECTURE's dependency table: for each package, the project packages and
// the outside modules it may import directly (the standard library is always allowed). Arrows only
// point down the table.
var allowedImports = map[string]struct {
	project []string
	outside []string
}{
	// curve25519-voi is the "crypto" of the table: the batch ed25519 verification of the chain's
	// signature rule (chainstate/sig.go).
	// errcode is the one table of error codes and their HTTP statuses: the standard library only.
	"errcode":     {},
	"chainstate":  {project: []string{"errcode"}, outside: []string{"go.etcd.io/bbolt", "github.com/oasisprotocol/curve25519-voi"}},
	"chain":       {project: []string{"chainstate"}},
	"powworker":   {project: []string{"chainstate"}},
	"noisep2p":    {outside: []string{"github.com/flynn/noise"}},
	"config":      {outside: []string{"github.com/spf13/viper", "go.yaml.in/yaml/v3", "github.com/go-viper/mapstructure/v2"}},
	"supervisor":  {outside: []string{"github.com/asynkron/protoactor-go"}},
	"logthrottle": {},
	"blocksync":   {project: []string{"chainstate"}},
	"txpool":      {project: []string{"chainstate", "errcode"}},
	"addrbook":    {project: []string{"chainstate"}},
	"compact":     {project: []string{"chainstate", "noisep2p"}, outside: []string{"github.com/dchest/siphash"}},
	"actors": {
		project: []string{"api", "errcode", "chain", "chainstate", "powworker", "noisep2p", "config", "supervisor", "logthrottle", "blocksync", "txpool", "addrbook", "compact"},
		outside: []string{"github.com/asynkron/protoactor-go", "github.com/prometheus/client_golang"},
	},
	// dashboard is the operator page (embedded HTML, CSS and script): the standard library only.
	"dashboard": {},
	// api (handler, wire types, Client) sits below actors: the node imports it to build its
	// handler and to answer with its types, so that a client never links the node.
	"api":      {project: []string{"errcode", "chainstate", "dashboard", "noisep2p"}},
	"chaos":    {project: []string{"api", "errcode", "chainstate", "noisep2p", "localnet"}},
	"localnet": {project: []string{"api", "chainstate"}},
	"netsim":   {project: []string{"api", "errcode", "chainstate", "localnet", "powworker"}},
	"perf":     {project: []string{"actors", "api", "chainstate", "config", "noisep2p", "powworker"}},
	// The shared test helpers: imported by test files only (go list below sees no test imports,
	// so any import of them it reports is a production one, refused by testOnly).
	"internal/testutil": {outside: []string{"go.uber.org/goleak"}},
	// Test chain building (btcd's fullblocktests is the model): test files only, like testutil.
	"internal/testchain": {project: []string{"chainstate", "powworker"}},
}

// testOnly are the packages that only test files may import.
var testOnly = []string{"internal/testutil", "internal/testchain"}

// TestImportDirection fails when a package imports something the architecture does not allow:
// bbolt outside chainstate, viper outside config, an actor package in a pure one, and so on.
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		rules, ok := allowedImports[pkg]
		for _, imp := range fields[1:] {
			switch {
			case strings.HasPrefix(imp, module):
				dep := strings.TrimPrefix(imp, module)
				if dep == "cmd/node" || strings.HasPrefix(dep, "resilience_test") {
					t.Errorf("%s imports %s: nothing may import the CLI or the tests", pkg, dep)
				}
				if hasPrefixIn(dep, testOnly) && !hasPrefixIn(pkg, testOnly) {
					t.Errorf("%s imports %s: a test-only package, for test files alone", pkg, dep)
				}
				if ok && !hasPrefixIn(dep, rules.project) {
					t.Errorf("%s imports %s: not allowed by the dependency table", pkg, dep)
				}
			case !strings.Contains(strings.SplitN(imp, "/", 2)[0], "."):
				// standard library
			default:
				if ok && !hasPrefixIn(imp, rules.outside) {
					t.Errorf("%s imports %s: not allowed by the dependency table", pkg, imp)
				}
				for _, owned := range []struct{ mod, owner string }{{"go.etcd.io/bbolt", "chainstate"}, {"github.com/spf13/viper", "config"}, {"github.com/flynn/noise", "noisep2p"}} {
					if strings.HasPrefix(imp, owned.mod) && pkg != owned.owner {
						t.Errorf("%s imports %s: only %s may", pkg, imp, owned.owner)
					}
				}
			}
		}
		seen++
	}
	if seen < 7 {
		t.Fatalf("go list reported %d packages; the check saw too little to mean anything", seen)
	}
}

func hasPrefixIn(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if s == p || strings.HasPrefix(s, p+"/") {
			return true
		}
	}
	return false
}

// clientForbidden are the modules a client of the node (package api's Client, chaos) must not
// link: the actor runtime and the metrics library are the node's alone.
//
// NB: go.etcd.io/bbolt is still linked, through chainstate (the transaction, block and params
// types live in the same package as the bbolt store); moving the store out of chainstate would
// let this list name bbolt too.
var clientForbidden = []string{"github.com/asynkron/protoactor-go", "github.com/prometheus/"}

// TestClientsLinkNoNode fails when package api or chaos (or anything they import) links the
// actor runtime or prometheus: the wire types belong to api, not to the node's actors.
func TestClientsLinkNoNode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", module+"api", module+"chaos").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 || !slices.Contains(deps, module+"chainstate") {
		t.Fatalf("go list -deps reported %d packages, without chainstate; the check saw too little to mean anything", len(deps))
	}
	for _, d := range deps {
		for _, f := range clientForbidden {
			if strings.HasPrefix(d, f) {
				t.Errorf("api or chaos links %s", d)
			}
		}
	}
}
