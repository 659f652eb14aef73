package supervisor

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

func TestTreeSnapshot(t *testing.T) {
	tr := NewTree("node")
	js, _ := json.Marshal(tr.Snapshot())
	if want := `{"name":"node","state":"stopped","restarts":0,"children":[]}`; string(js) != want {
		t.Fatalf("empty tree JSON %s, want %s", js, want)
	}
	root := actor.NewPID("nonhost", "node")
	tr.SetRoot(root, StateRunning)
	if pid, ok := tr.PID("node"); !ok || !pid.Equal(root) {
		t.Fatalf("root PID %v %v", pid, ok)
	}

	tr.prepare("miner", "miner/worker-0", tr.nextGen(), false, true, "", time.Time{})
	tr.prepare("", "api", tr.nextGen(), true, false, "", time.Time{})
	snap := tr.Snapshot()
	if len(snap.Children) != 2 || snap.Children[0].Name != "miner" || snap.Children[0].Children[0].Name != "miner/worker-0" {
		t.Fatalf("a missing parent is created as a placeholder: %+v", snap)
	}
	snap.Children[0].Children[0].Restarts = 99
	snap.Children = nil
	if n, _ := tr.Lookup("miner/worker-0"); n.Restarts != 0 {
		t.Fatal("Snapshot shares memory with the tree")
	}

	gen := tr.nextGen()
	tr.prepare("", "api", gen, true, false, "", time.Time{})
	tr.stopped("api", gen-1) // a stale generation changes nothing
	if _, ok := tr.Lookup("api"); !ok {
		t.Fatal("a stale Stopped removed the entry")
	}
	tr.stopped("api", gen) // Temporary: leaves the tree
	if _, ok := tr.Lookup("api"); ok {
		t.Fatal("a stopped Temporary entry is still in the tree")
	}
}

// TestTreeRestartTimes: the tree keeps the times of the latest 64 restarts of an entry, oldest
// first, and nothing for an unknown name.
func TestTreeRestartTimes(t *testing.T) {
	tr := NewTree("node")
	gen := tr.nextGen()
	tr.prepare("", "storage", gen, false, false, "", time.Time{})
	if got := tr.RestartTimes("storage"); len(got) != 0 {
		t.Fatalf("RestartTimes of a fresh entry = %v", got)
	}
	base := time.Unix(1_000_000, 0)
	for i := 0; i < 70; i++ {
		tr.restartStarted("storage", gen, causePanic, base.Add(time.Duration(i)*time.Second))
	}
	got := tr.RestartTimes("storage")
	if len(got) != maxRecentRestarts || !got[0].Equal(base.Add(6*time.Second)) || !got[63].Equal(base.Add(69*time.Second)) {
		t.Fatalf("RestartTimes after 70 restarts: %d times from %v to %v, want the last 64", len(got), got[0], got[len(got)-1])
	}
	got[0] = time.Time{}
	if tr.RestartTimes("storage")[0].IsZero() {
		t.Fatal("RestartTimes returns shared storage")
	}
	if n, _ := tr.Lookup("storage"); n.Restarts != 70 {
		t.Fatalf("restarts %d, want 70", n.Restarts)
	}
	if tr.RestartTimes("nope") != nil {
		t.Fatal("RestartTimes of an unknown name is not nil")
	}
}
