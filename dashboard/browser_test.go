package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/config"
)

// The browser tests load the dashboard from in-process nodes into headless Chromium (driven by
// chromedp over the DevTools protocol) and check what a person would see against the API.

// chromiumNames are the executables looked for on PATH, in order; CHROMIUM names one directly.
// The Makefile's browser-note looks for the same names.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

func chromiumPath() (string, bool) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, true
	}
	for _, n := range chromiumNames {
		if p, err := exec.LookPath(n); err == nil {
			return p, true
		}
	}
	return "", false
}

// The tests share one browser, started by the first that needs it and closed by TestMain
// (closeBrowser) before goleak looks for leftovers; each test gets its own tab.
var browser struct {
	once    sync.Once
	ctx     context.Context // the browser's first tab; its cancel closes the browser
	cancel  context.CancelFunc
	acancel context.CancelFunc // the allocator's: waits for the browser process
	err     error
}

func startBrowser(path string) {
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // the tests may run as root, where Chromium's sandbox refuses to start
		chromedp.WindowSize(1280, 1000),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// The first action starts the browser on ctx itself: a timeout on it would end the browser.
	browser.ctx, browser.cancel, browser.acancel = ctx, cancel, acancel
	if err := chromedp.Do(ctx); err != nil {
		browser.err = fmt.Errorf("start %s: %w", path, err)
	}
}

// closeBrowser closes the shared browser, if one was started, and waits for its process.
func closeBrowser() {
	if browser.ctx == nil {
		return
	}
	cctx, ccancel := context.WithTimeout(browser.ctx, 10*time.Second)
	defer ccancel()
	if err := chromedp.Cancel(cctx); err != nil {
		fmt.Fprintf(os.Stderr, "close the browser: %v\n", err)
	}
	browser.cancel()
	browser.acancel()
}

// newBrowser opens a tab of the shared headless Chromium with a w×h CSS pixel viewport and
// returns its context; the test's cleanup closes the tab. Without Chromium the test is skipped
// with a loud message (`.ci/run` installs Debian's chromium; `make check` says so too).
func newBrowser(t *testing.T, w, h int) context.Context {
	t.Helper()
	path, ok := chromiumPath()
	if !ok {
		t.Skipf("SKIPPED: no Chromium found (looked for %v on PATH and $CHROMIUM): the dashboard's browser tests did not run. "+
			"Install it with `apt-get install chromium` (.ci/run does).", chromiumNames)
	}
	browser.once.Do(func() { startBrowser(path) })
	if browser.err != nil {
		t.Fatal(browser.err)
	}
	ctx, cancel := chromedp.NewContext(browser.ctx)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		defer ccancel()
		if err := chromedp.Cancel(cctx); err != nil {
			t.Logf("close the tab: %v", err)
		}
		cancel()
	})
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatalf("open a tab: %v", err)
	}
	run(t, ctx, chromedp.EmulateViewport(int64(w), int64(h)))
	return ctx
}

// run runs browser actions with a bound.
func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// dom is what the page shows, read in one evaluation.
type dom struct {
	Height    string      `json:"height"`
	Tip       string      `json:"tip"`
	Peers     string      `json:"peers"`
	PeerIDs   []string    `json:"peerIds"`
	Blocks    []domBlock  `json:"blocks"`
	Tree      []domActor  `json:"tree"`
	Conn      string      `json:"conn"`
	TreeStale string      `json:"treeStale"`
	Rounds    int         `json:"rounds"`
	Health    string      `json:"health"`
	Overflow  []string    `json:"overflow"`
	Refresh   string      `json:"refresh"`
	Bars      int         `json:"bars"`
	Lines     int         `json:"lines"`
	HashRate  string      `json:"hashrate"`
	Width     domMeasures `json:"width"`
}

type domBlock struct {
	Height uint64 `json:"height"`
	Hash   string `json:"hash"`
}

type domActor struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	Restarts int    `json:"restarts"`
	Buttons  int    `json:"buttons"`
	Flashes  int    `json:"flashes"`
}

type domMeasures struct {
	Inner  int `json:"inner"`
	Scroll int `json:"scroll"`
}

// readDOM reads the page. Overflow lists the elements whose right edge passes the window's
// (those inside a .scroll box, which scrolls by itself, aside).
const readDOM = `(() => {
  const q = s => document.querySelector(s);
  const all = s => Array.from(document.querySelectorAll(s));
  const iw = window.innerWidth;
  return {
    height: q('#height').textContent, tip: q('#tip').textContent, peers: q('#peer-count').textContent,
    peerIds: all('#peers-table tbody tr[data-peer]').map(tr => tr.dataset.peer),
    blocks: all('#blocks-table tbody tr').map(tr => ({height: Number(tr.dataset.height), hash: tr.dataset.hash})),
    tree: all('#tree li.actor').map(li => ({name: li.dataset.actor, state: li.dataset.state || '',
      restarts: Number(li.dataset.restarts), buttons: li.querySelectorAll(':scope > .row button').length,
      flashes: Number(li.dataset.flashes || 0)})),
    conn: q('#conn').dataset.state, treeStale: q('#tree').dataset.stale,
    rounds: Number(document.body.dataset.rounds || 0), health: q('#health').textContent,
    overflow: all('body *').filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > iw + 0.5)
      .map(e => e.tagName + (e.id ? '#' + e.id : '') + (e.className && e.className.baseVal === undefined ? '.' + e.className : '')),
    width: {inner: iw, scroll: document.documentElement.scrollWidth},
    refresh: q('#refresh').textContent, bars: all('#chart-interval rect').length,
    lines: all('#chart-hashrate polyline').length, hashrate: q('#hashrate').textContent,
  };
})()`

func read(t *testing.T, ctx context.Context) dom {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d, err := chromedp.Run(ctx, chromedp.Evaluate[dom](readDOM))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	return d
}

// eventually polls check (which reads the page and the API) until it returns "" or d passes;
// then it fails with check's last word.
func eventually(t *testing.T, d time.Duration, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		why := check()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", d, what, why)
		}
		time.Sleep(50 * time.Millisecond) // a bounded poll of a page that refreshes every 2 s
	}
}

// fast is the page with a round every 0.25 s instead of 2 s, so the tests wait less.
const fast = "/?refresh=0.25"

// ---- nodes ----------------------------------------------------------------------------------

type home struct {
	dir string
	cfg *config.Config
}

// newHome initialises a devnet home with easy work, the API on a free loopback port and
// networking off; edit changes the config before it is written. Homes of one test share the
// first home's chain when chain is given.
func newHome(t *testing.T, chain *home, edit func(*config.Config)) *home {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "home")
	cfgFile := filepath.Join(dir, config.FileName)
	if _, err := actors.InitHome(dir, cfgFile, "", false); err != nil {
		t.Fatalf("init home: %v", err)
	}
	cfg, err := config.Load(dir, cfgFile, nil)
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	if chain != nil {
		cfg.Chain = chain.cfg.Chain.Clone()
	} else {
		cfg.Chain.PowBits = 8
	}
	cfg.API.Listen = "127.0.0.1:0"
	cfg.P2P.Listen = ""
	cfg.Mining.Workers = 1
	cfg.Storage.OpenTimeout = 5 * time.Second
	if edit != nil {
		edit(cfg)
	}
	if err := config.Write(cfgFile, cfg); err != nil {
		t.Fatalf("write config: %v", err)
	}
	return &home{dir: dir, cfg: cfg}
}

type node struct {
	n   *actors.Node
	url string
	api *api.Client
}

// start runs the home's node in this process, blocks paced to one every 100 ms so the page has
// something to follow without racing ahead; the test's cleanup stops it.
func (h *home) start(t *testing.T) *node {
	t.Helper()
	n, err := actors.Start(h.cfg, actors.Options{
		MinBlockInterval: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { stop(t, n) })
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	url := "http://" + n.APIAddr()
	return &node{n: n, url: url, api: api.NewClient(url, &http.Client{Transport: tr, Timeout: 10 * time.Second})}
}

// stop stops a node in order; stopping a stopped node again is a no-op.
func stop(t *testing.T, n *actors.Node) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Stop(ctx); err != nil {
		t.Errorf("stop node: %v", err)
	}
}

func (nd *node) status(t *testing.T) api.Status {
	t.Helper()
	s, err := nd.api.Status(context.Background())
	if err != nil {
		t.Fatalf("GET /v1/status: %v", err)
	}
	return s
}

func (nd *node) tree(t *testing.T) []domActor {
	t.Helper()
	root, err := nd.api.Actors(context.Background())
	if err != nil {
		t.Fatalf("GET /v1/actors: %v", err)
	}
	var out []domActor
	var walk func(api.ActorNode)
	walk = func(a api.ActorNode) {
		out = append(out, domActor{Name: a.Name, State: a.State, Restarts: a.Restarts})
		for _, c := range a.Children {
			walk(c)
		}
	}
	walk(root)
	return out
}

// sameTree compares the page's tree with the API's: names in order, states and restart counts.
func sameTree(page, want []domActor) string {
	if len(page) != len(want) {
		return fmt.Sprintf("page tree has %d actors %v, API %d %v", len(page), names(page), len(want), names(want))
	}
	for i := range want {
		p, w := page[i], want[i]
		if p.Name != w.Name || p.State != w.State || p.Restarts != w.Restarts {
			return fmt.Sprintf("actor %d: page %+v, API %+v", i, p, w)
		}
	}
	return ""
}

func names(as []domActor) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Name
	}
	return out
}

func find(as []domActor, name string) (domActor, bool) {
	for _, a := range as {
		if a.Name == name {
			return a, true
		}
	}
	return domActor{}, false
}

func setMining(t *testing.T, nd *node, on bool) {
	t.Helper()
	if _, err := nd.api.SetMining(context.Background(), on); err != nil {
		t.Fatalf("POST /v1/mining: %v", err)
	}
}

// ---- tests ----------------------------------------------------------------------------------

// TestDashboardShowsTheNode: two connected nodes; the page of the first shows its height, tip,
// peers, last blocks and supervision tree as the API does, a press on a crash button restarts
// the actor (its count rises in the page and the row flashes), and a screenshot is taken.
func TestDashboardShowsTheNode(t *testing.T) {
	ctx := newBrowser(t, 1280, 1000)
	ha := newHome(t, nil, func(c *config.Config) { c.P2P.Listen = "127.0.0.1:0"; c.Debug.FaultInjection = true })
	a := ha.start(t)
	hb := newHome(t, ha, func(c *config.Config) {
		c.P2P.Listen = "127.0.0.1:0"
		c.P2P.Seeds = []string{a.n.NodeID() + "@" + a.n.P2PAddr()}
		c.Mining.Enabled = false
	})
	b := hb.start(t)
	eventually(t, 20*time.Second, "a connected peer and height 3", func() string {
		if s := a.status(t); s.Peers != 1 || s.Height < 3 {
			return fmt.Sprintf("peers %d, height %d", s.Peers, s.Height)
		}
		return ""
	})
	run(t, ctx, chromedp.Navigate(a.url+fast))

	// While the chain grows the page follows it.
	eventually(t, 10*time.Second, "the page to show a height of at least 3", func() string {
		if h, _ := strconv.Atoi(read(t, ctx).Height); h < 3 {
			return fmt.Sprintf("page height %d", h)
		}
		return ""
	})
	// Still, the page must match the API exactly.
	setMining(t, a, false)
	eventually(t, 15*time.Second, "the page to match the API", func() string {
		s := a.status(t)
		peers, err := a.api.Peers(context.Background())
		if err != nil {
			return err.Error()
		}
		d := read(t, ctx)
		var ids []string
		for _, p := range peers.Connected {
			ids = append(ids, p.ID)
		}
		switch {
		case d.Height != strconv.FormatUint(s.Height, 10):
			return fmt.Sprintf("height: page %s, API %d", d.Height, s.Height)
		case d.Tip != s.TipHash:
			return fmt.Sprintf("tip: page %s, API %s", d.Tip, s.TipHash)
		case d.Peers != strconv.Itoa(s.Peers) || !slices.Equal(d.PeerIDs, ids) || len(ids) != 1 || ids[0] != b.n.NodeID():
			return fmt.Sprintf("peers: page %s %v, API %d %v", d.Peers, d.PeerIDs, s.Peers, ids)
		case len(d.Blocks) != min(20, int(s.Height)+1) || d.Blocks[0].Hash != s.TipHash:
			return fmt.Sprintf("blocks: page shows %d from %v, want %d from the tip", len(d.Blocks), d.Blocks[:min(1, len(d.Blocks))], min(20, s.Height+1))
		case d.Bars == 0 || d.Lines != 1 || !strings.HasSuffix(d.HashRate, "H/s"):
			return fmt.Sprintf("charts: %d interval bars, %d hash rate lines, hash rate %q", d.Bars, d.Lines, d.HashRate)
		case d.Health != "healthy" || d.Conn != "up" || d.TreeStale != "false":
			return fmt.Sprintf("health %q, connection %q, tree stale %q", d.Health, d.Conn, d.TreeStale)
		}
		for i, blk := range d.Blocks {
			if blk.Height != s.Height-uint64(i) {
				return fmt.Sprintf("block row %d has height %d, want %d", i, blk.Height, s.Height-uint64(i))
			}
		}
		return sameTree(d.Tree, a.tree(t))
	})
	for _, act := range read(t, ctx).Tree {
		want := 2
		if act.Name == "node" {
			want = 0 // the root cannot be crashed or killed
		}
		if act.Buttons != want {
			t.Errorf("actor %s has %d buttons, want %d (fault injection is on)", act.Name, act.Buttons, want)
		}
	}

	// Press consensus's crash button: the real supervision path restarts it.
	before, _ := find(read(t, ctx).Tree, "consensus")
	run(t, ctx, chromedp.Click(chromedp.CSS(`li[data-actor="consensus"] > .row button.crash`)))
	eventually(t, 10*time.Second, "consensus's restart count to rise in the page", func() string {
		api, _ := find(a.tree(t), "consensus")
		page, _ := find(read(t, ctx).Tree, "consensus")
		if api.Restarts != before.Restarts+1 || page.Restarts != api.Restarts || page.Flashes < 1 {
			return fmt.Sprintf("restarts before %d, API %d, page %d, flashes %d", before.Restarts, api.Restarts, page.Restarts, page.Flashes)
		}
		return ""
	})

	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 1280 || h != 1000 {
		t.Errorf("screenshot is %d×%d, want the 1280×1000 viewport", w, h)
	}
	out := filepath.Join(t.TempDir(), "dashboard.png")
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", out, len(shot))
}

// TestDashboardAt320px: on a 320 px wide screen nothing passes the right edge (the tables scroll
// in their own boxes) and the page still shows the tree with its buttons.
func TestDashboardAt320px(t *testing.T) {
	ctx := newBrowser(t, 320, 800)
	a := newHome(t, nil, func(c *config.Config) { c.Debug.FaultInjection = true }).start(t)
	run(t, ctx, chromedp.Navigate(a.url+fast))
	var last dom
	eventually(t, 10*time.Second, "the page's first rounds", func() string {
		last = read(t, ctx)
		if last.Rounds < 2 || len(last.Tree) < 7 || len(last.Blocks) == 0 {
			return fmt.Sprintf("rounds %d, %d actors, %d blocks", last.Rounds, len(last.Tree), len(last.Blocks))
		}
		return ""
	})
	if last.Width.Inner != 320 {
		t.Fatalf("window is %d px wide, want 320", last.Width.Inner)
	}
	if last.Width.Scroll > last.Width.Inner || len(last.Overflow) > 0 {
		t.Errorf("horizontal overflow at 320 px: document %d px wide; elements past the edge: %v", last.Width.Scroll, last.Overflow)
	}
	if c, ok := find(last.Tree, "consensus"); !ok || c.Buttons != 2 {
		t.Errorf("consensus at 320 px: %+v", c)
	}
}

// TestDashboardWithoutFaultInjection: no buttons, and the debug calls they would make are 404.
func TestDashboardWithoutFaultInjection(t *testing.T) {
	ctx := newBrowser(t, 1024, 800)
	a := newHome(t, nil, nil).start(t)
	run(t, ctx, chromedp.Navigate(a.url+"/")) // the default cadence, 2 s
	var d dom
	eventually(t, 10*time.Second, "the tree", func() string {
		d = read(t, ctx)
		if d.Rounds < 1 {
			return "no round yet"
		}
		return sameTree(d.Tree, a.tree(t))
	})
	if d.Refresh != "2" {
		t.Errorf("the page refreshes every %s s by default, want 2", d.Refresh)
	}
	for _, act := range d.Tree {
		if act.Buttons != 0 {
			t.Errorf("actor %s has %d buttons without fault injection", act.Name, act.Buttons)
		}
	}
	for _, action := range []string{"crash", "kill"} {
		resp, err := http.Post(a.url+"/v1/debug/actors/consensus/"+action, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Code string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || e.Code != "not_found" {
			t.Errorf("POST %s without fault injection = %d %q, want 404 not_found", action, resp.StatusCode, e.Code)
		}
	}
	http.DefaultClient.CloseIdleConnections()
}

// TestDashboardFollowsANodeRestart: the page says when the node is gone (and greys out what it
// showed), and once a node answers again on that address it shows that node: its tree with its
// own restart counts, and buttons only if that node has fault injection.
func TestDashboardFollowsANodeRestart(t *testing.T) {
	ctx := newBrowser(t, 1024, 800)
	h := newHome(t, nil, func(c *config.Config) { c.Debug.FaultInjection = true })
	a := h.start(t)
	if err := a.api.Crash(context.Background(), "mempool"); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(a.url+fast))
	eventually(t, 10*time.Second, "the crashed mempool in the page", func() string {
		d := read(t, ctx)
		if m, _ := find(d.Tree, "mempool"); m.Restarts != 1 || m.Buttons != 2 {
			return fmt.Sprintf("mempool %+v", m)
		}
		return ""
	})

	stop(t, a.n)
	eventually(t, 10*time.Second, "the page to say the node is gone", func() string {
		if d := read(t, ctx); d.Conn != "down" || d.TreeStale != "true" {
			return fmt.Sprintf("connection %q, tree stale %q", d.Conn, d.TreeStale)
		}
		return ""
	})

	// The same home on the same API address, now without fault injection.
	h.cfg.API.Listen = a.n.APIAddr()
	h.cfg.Debug.FaultInjection = false
	b := h.start(t)
	eventually(t, 15*time.Second, "the page to show the restarted node", func() string {
		d := read(t, ctx)
		if d.Conn != "up" || d.TreeStale != "false" {
			return fmt.Sprintf("connection %q, tree stale %q", d.Conn, d.TreeStale)
		}
		if m, _ := find(d.Tree, "mempool"); m.Restarts != 0 || m.Buttons != 0 {
			return fmt.Sprintf("mempool %+v: want the new node's count (0) and no buttons", m)
		}
		return sameTree(d.Tree, b.tree(t))
	})
}
