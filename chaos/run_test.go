package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/localnet"
)

// TestRunCleansUpOnError: a run whose setup fails after its links were made (the homes cannot
// be made, or the node binary does not start) returns the error and leaves no namespace behind.
func TestRunCleansUpOnError(t *testing.T) {
	errHomes := errors.New("no homes today")
	for _, tc := range []struct {
		name  string
		exe   string
		homes func(dir string) func([]string) ([]Home, error)
		want  string
	}{
		{"homes fail", "/bin/true", func(string) func([]string) ([]Home, error) {
			return func([]string) ([]Home, error) { return nil, errHomes }
		}, errHomes.Error()},
		{"binary missing", "/nonexistent/node", func(dir string) func([]string) ([]Home, error) {
			return func(hosts []string) ([]Home, error) {
				var hs []Home
				for k, h := range hosts {
					home := fmt.Sprintf("%s/node%d", dir, k)
					if err := os.MkdirAll(home, 0o755); err != nil {
						return nil, err
					}
					hs = append(hs, Home{Dir: home, API: "http://" + h + ":1"})
				}
				return hs, nil
			}
		}, "node0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tr, err := Run(context.Background(), Config{
				Exe: tc.exe, Seed: 1, Settings: Settings{Nodes: 2, Duration: time.Minute}, Dir: dir, Senders: 1,
				Interval: time.Second, Converge: 5 * time.Second, MakeHomes: tc.homes(dir),
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want an error with %q", err, tc.want)
			}
			if tr == nil || tr.OK || len(tr.Schedule) == 0 {
				t.Fatalf("transcript %+v: want the schedule and not OK", tr)
			}
			if tr.LinkMode == LinksNetns {
				out, err := localnet.ListNetns(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if prefix := fmt.Sprintf("chaos-%d-", os.Getpid()); strings.Contains(out, prefix) {
					t.Fatalf("namespaces left behind:\n%s", out)
				}
			}
		})
	}
}
