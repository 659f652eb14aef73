package chain

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/actorchain/actorchain/chainstate"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/*.txt")

// TestScripts runs every testdata/*.txt script: commands, each followed by a line "----" and the
// output it must produce, up to a blank line (raft's datadriven format). Lines starting with '#'
// are comments. With -rewrite the outputs are regenerated (read the diff before committing).
//
// Commands (block names are words; the genesis block is g):
//
//	block NAME parent=P [src=mined|peer:ID] [bits=N] [target=C] [time=MS] [check=bad] [apply=bad] [writes=MODE,...]
//	chain NAME... parent=P [options as for block]  a line of blocks, each on the previous one
//	make NAME... parent=P [options as for block]   builds a line of blocks without sending them
//	block NAME / chain NAME...                      (re)sends blocks already made
//	now MS                                          sets the local clock
//	tip                                             the machine's tip (and the store's when it differs)
//	status NAME...                                  each block's status, in the machine and the store
//	orphans                                         the orphan pool's size
//	restart                                         a new machine from the store (its tip and Load)
//
// Every decision is printed on a line; a write is followed by " -> outcome" unless done. check=bad
// fails Rules.CheckBlock, apply=bad makes the store's state transition fail (a rule error in a
// connect or reorg), writes lists how each write of the block ends: done (default), already (it
// committed, reported as found done by an earlier attempt) or lost (no effect; a non-rule error).
//
// Every script runs twice: with work 2^bits (a fixed-difficulty chain's count), and with bits
// holding compact targets and work 2^256 / (target + 1) as an adjusting chain counts it
// (chainstate.Params.Work); there bits=N means the target 2^(256-N) - 1, whose work is 2^N for
// the small N the scripts use, so both runs must print the same. target=C (hex compact) sets
// any target: scripts named targets*.txt use it and run only in the second way.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		if !strings.HasPrefix(name, "targets") {
			t.Run(name, func(t *testing.T) { runScript(t, f, false) })
		}
		if !*rewrite || strings.HasPrefix(name, "targets") {
			t.Run(name+"/targets", func(t *testing.T) { runScript(t, f, true) })
		}
	}
}

type scriptCase struct {
	pos     string
	cmd     string
	want    []string
	comment []string // lines before the command
}

func parseScript(t *testing.T, path string) []scriptCase {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		cases []scriptCase
		cur   *scriptCase
		pre   []string
		inOut bool
		line  int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line++
		s := sc.Text()
		switch {
		case inOut && s == "":
			inOut, cur = false, nil
		case inOut:
			cur.want = append(cur.want, s)
		case s == "----":
			if cur == nil {
				t.Fatalf("%s:%d: ---- without a command", path, line)
			}
			inOut = true
		case s == "" || strings.HasPrefix(s, "#"):
			pre = append(pre, s)
		default:
			if cur != nil {
				t.Fatalf("%s:%d: command %q has no ---- line", path, line, cur.cmd)
			}
			cases = append(cases, scriptCase{pos: fmt.Sprintf("%s:%d", path, line), cmd: s, comment: pre})
			cur, pre = &cases[len(cases)-1], nil
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil && !inOut {
		t.Fatalf("%s: last command %q has no ---- line", path, cur.cmd)
	}
	return cases
}

func runScript(t *testing.T, path string, targets bool) {
	cases := parseScript(t, path)
	w := newWorldMode(t, targets)
	var out strings.Builder
	for _, c := range cases {
		got := w.run(c.pos, c.cmd)
		if *rewrite {
			for _, l := range c.comment {
				out.WriteString(l + "\n")
			}
			out.WriteString(c.cmd + "\n----\n")
			for _, l := range got {
				out.WriteString(l + "\n")
			}
			out.WriteString("\n")
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %s\ngot:\n  %s\nwant:\n  %s", c.pos, c.cmd, strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
		}
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// world is a script's machine, its store and the blocks by name.
type world struct {
	t      *testing.T
	rules  *testRules
	store  *fakeStore
	m      *Machine
	blocks map[string]*chainstate.Block
	names  map[chainstate.Hash]string
	srcs   map[string]string // the src= a block was made with
	nowMs  uint64
	nonce  uint32
	// targets: bits are compact targets (see TestScripts).
	targets bool
}

const genesisTime = 1_000_000

func newWorld(t *testing.T) *world { return newWorldMode(t, false) }

func newWorldMode(t *testing.T, targets bool) *world {
	g := &chainstate.Block{Header: chainstate.Header{Version: 1, Bits: bitsArg(1, targets), Time: genesisTime}}
	w := &world{
		t: t, blocks: map[string]*chainstate.Block{"g": g}, names: map[chainstate.Hash]string{g.Hash(): "g"}, srcs: map[string]string{},
		rules: &testRules{genesis: g.Hash(), badCheck: map[chainstate.Hash]bool{}, targets: targets}, nowMs: genesisTime + 10_000,
		targets: targets,
	}
	w.store = newFakeStore(g, headerWork(&g.Header, targets))
	w.store.targets = targets
	w.restart()
	return w
}

func (w *world) restart() {
	m, err := New(Config{Rules: w.rules, Tip: w.store.tipEntry(), Load: w.store.lookup, MainHash: w.store.mainHash, MaxOrphans: 4})
	if err != nil {
		w.t.Fatal(err)
	}
	w.m = m
}

func (w *world) name(h chainstate.Hash) string {
	if n, ok := w.names[h]; ok {
		return n
	}
	return h.String()[:8]
}

func (w *world) nameList(hs []chainstate.Hash) string {
	s := make([]string, len(hs))
	for i, h := range hs {
		s[i] = w.name(h)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// text replaces every hash of a named block in s by its name.
func (w *world) text(s string) string {
	for h, n := range w.names {
		s = strings.ReplaceAll(s, h.String(), n)
	}
	return s
}

func (w *world) run(pos, cmd string) []string {
	f := strings.Fields(cmd)
	args, opts := splitArgs(f[1:])
	switch f[0] {
	case "block", "chain":
		var out []string
		for _, n := range args {
			out = append(out, w.step(pos, n, opts)...)
			opts["parent"] = n
		}
		return out
	case "make":
		for _, n := range args {
			w.makeBlock(pos, n, opts)
			opts["parent"] = n
		}
		return nil
	case "now":
		v, err := strconv.ParseUint(args[0], 10, 64)
		if err != nil {
			w.t.Fatalf("%s: %v", pos, err)
		}
		w.nowMs = v
		return nil
	case "tip":
		return w.tip()
	case "status":
		var out []string
		for _, n := range args {
			h := w.blocks[n].Hash()
			out = append(out, fmt.Sprintf("%s %s (store %s)", n, w.m.Status(h), w.store.entries[h].Status))
		}
		return out
	case "orphans":
		return []string{fmt.Sprintf("orphans %d", w.m.Orphans())}
	case "restart":
		w.restart()
		return w.tip()
	}
	w.t.Fatalf("%s: unknown command %q", pos, f[0])
	return nil
}

func splitArgs(fs []string) (args []string, opts map[string]string) {
	opts = map[string]string{}
	for _, s := range fs {
		if k, v, ok := strings.Cut(s, "="); ok {
			opts[k] = v
		} else {
			args = append(args, s)
		}
	}
	return args, opts
}

func (w *world) tip() []string {
	h, height, work := w.m.Tip()
	out := []string{fmt.Sprintf("tip %s h=%d work=%s", w.name(h), height, work)}
	if w.store.tip != h {
		out = append(out, "store tip "+w.name(w.store.tip))
	}
	return out
}

// makeBlock builds block name from the options.
func (w *world) makeBlock(pos, name string, opts map[string]string) *chainstate.Block {
	if _, ok := w.blocks[name]; ok {
		return w.blocks[name] // a block sent again
	}
	parent, ok := w.blocks[opts["parent"]]
	if !ok {
		w.t.Fatalf("%s: block %s: unknown parent %q", pos, name, opts["parent"])
	}
	w.nonce++
	h := chainstate.Header{Version: 1, PrevHash: parent.Hash(), Height: parent.Header.Height + 1, Bits: bitsArg(1, w.targets),
		Time: parent.Header.Time + 1, Nonce: w.nonce}
	if v, ok := opts["bits"]; ok {
		h.Bits = bitsArg(uint32(w.num(pos, v)), w.targets)
	}
	if v, ok := opts["target"]; ok {
		if !w.targets {
			w.t.Fatalf("%s: target= in a script that runs with bits", pos)
		}
		c, err := strconv.ParseUint(v, 16, 32)
		if err != nil {
			w.t.Fatalf("%s: target %q: %v", pos, v, err)
		}
		h.Bits = uint32(c)
	}
	if v, ok := opts["time"]; ok {
		h.Time = w.num(pos, v)
	}
	b := &chainstate.Block{Header: h}
	w.blocks[name], w.names[b.Hash()], w.srcs[name] = b, name, opts["src"]
	if opts["check"] == "bad" {
		w.rules.badCheck[b.Hash()] = true
	}
	if opts["apply"] == "bad" {
		w.store.badApply[b.Hash()] = true
	}
	return b
}

// bitsArg is the header bits of bits=n: n, or with targets the compact form of 2^(256-n) - 1.
func bitsArg(n uint32, targets bool) uint32 {
	if !targets {
		return n
	}
	return chainstate.TargetToCompact(chainstate.TargetForBits(n))
}

func (w *world) num(pos, s string) uint64 {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		w.t.Fatalf("%s: %v", pos, err)
	}
	return v
}

func sourceArg(s string) Source {
	if s == "mined" {
		return Source{Origin: Mined}
	}
	id, _ := strings.CutPrefix(s, "peer:")
	return Source{Origin: Peer, Peer: id}
}

// step runs one block through the machine, performing its writes on the store.
func (w *world) step(pos, name string, opts map[string]string) []string {
	b := w.makeBlock(pos, name, opts)
	var modes []string
	if v := opts["writes"]; v != "" {
		modes = strings.Split(v, ",")
	}
	var out []string
	src, ok := opts["src"]
	if !ok {
		src = w.srcs[name]
	}
	d := w.m.Step(b, sourceArg(src), w.nowMs)
	for i := 0; d.Kind != None; i++ {
		if i > 100 {
			w.t.Fatalf("%s: block %s: no end after 100 decisions", pos, name)
		}
		var r Result
		if d.Kind.IsWrite() {
			mode := "done"
			if d.Hash == b.Hash() && len(modes) > 0 {
				mode, modes = modes[0], modes[1:]
			}
			r = w.store.execute(d, mode)
		}
		out = append(out, w.show(d, r))
		d = w.m.Advance(r)
	}
	return out
}

// show prints a decision (and the result of its write).
func (w *world) show(d Decision, r Result) string {
	s := d.Kind.String() + " " + w.name(d.Hash)
	switch d.Kind {
	case WritePut:
		s += " work=" + d.Work.String()
	case WriteReorg:
		s += fmt.Sprintf(" from=%s disconnect=%s connect=%s", w.name(d.From), w.nameList(d.Disconnect), w.nameList(d.Connect))
	case WriteInvalid:
		s = d.Kind.String() + " " + w.name(d.Invalid)
	case Connected, Stored:
		s += fmt.Sprintf(" h=%d src=%s", d.Height, d.Source)
	case Reorged:
		src := make([]string, len(d.Sources))
		for i, x := range d.Sources {
			src[i] = x.String()
		}
		s += fmt.Sprintf(" h=%d from=%s depth=%d connect=%s sources=[%s]", d.Height, w.name(d.From), d.Depth(), w.nameList(d.Connect), strings.Join(src, " "))
	case Orphaned:
		s += " ask=" + w.name(d.Parent)
	case Rejected:
		s += ": " + w.text(d.Err.Error())
	}
	if d.Released {
		s += " (released)"
	}
	if d.Kind.IsWrite() && (r.Outcome != Done || r.Err != nil) {
		s += " -> " + r.Outcome.String()
		if r.Err != nil {
			s += ": " + w.text(r.Err.Error())
		}
	}
	return s
}
