package api

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/errcode"
	"github.com/actorchain/actorchain/internal/testutil"
)

// The worked example of docs/api.md (doc_test.go checks that the doc and these agree with the
// definitions).
const (
	exChainID = "actorchain-devnet"
	exFrom    = "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"
	exTo      = "6a3803d5f059902a1c6dafbc9ba4729212f7caac"
	exSig     = "134cf9a5f417fe6455a5f0a88a7f2f7f2ccdaafb19cbc283f2c1b8b722a0668d047b99369d982f793adf3be6d5be21dea974580c78f63e716e802c1dbf28db0e"
	exHash    = "4a0c410ecdb0d842c603e83a113d36aa3598a1d9a0a411425814308131c30aa5"
)

// exampleTx returns the worked example as a chain transaction, built without chainstate code.
func exampleTx(t testing.TB) *chainstate.Tx {
	t.Helper()
	tx := &chainstate.Tx{ChainID: exChainID, Amount: 7, Fee: 1, Nonce: 0}
	mustHex(t, exFrom, tx.From[:])
	mustHex(t, exTo, tx.To[:])
	mustHex(t, exSig, tx.Sig[:])
	return tx
}

// exampleBody is the worked example as a POST /v1/txs body.
func exampleBody() string {
	return fmt.Sprintf(`{"chain_id":%q,"from":%q,"to":%q,"amount":7,"fee":1,"nonce":0,"signature":%q}`,
		exChainID, exFrom, exTo, exSig)
}

func mustHex(t testing.TB, s string, dst []byte) {
	t.Helper()
	if n, err := hex.Decode(dst, []byte(s)); err != nil || n != len(dst) {
		t.Fatalf("bad test hex %q: n=%d err=%v", s, n, err)
	}
}

func filled[T ~[32]byte | ~[20]byte | ~[64]byte](b byte) T {
	var v T
	for i := range len(v) {
		v[i] = b
	}
	return v
}

// fake is a Backend whose answers the tests set. Fields are guarded by mu.
type fake struct {
	mu        sync.Mutex
	params    *chainstate.Params
	status    Status
	health    Health
	blocks    map[chainstate.Hash]BlockInfo
	heights   map[uint64]chainstate.Hash
	accounts  map[chainstate.Address]AccountInfo
	txs       map[chainstate.Hash]TxInfo
	mempool   []chainstate.Hash
	peers     PeersInfo
	tree      ActorNode
	fault     bool
	mining    bool
	submitted []*chainstate.Tx
	dialled   []string
	imported  []chainstate.PeerRecord
	crashed   []string
	killed    []string
	failing   bool         // storage fault
	skew      int64        // clock skew, seconds
	links     []LinkFilter // link filters, by peer

	err       error         // returned by every ctx method when set
	submitErr error         // returned by SubmitTx when set
	hold      chan struct{} // when set, ctx methods block on it, ignoring ctx (a stuck actor)
	panicMsg  string        // when set, ctx methods panic with it
}

var fakeSubmitHash = filled[chainstate.Hash](0xab)

func newFake() *fake {
	return &fake{
		params:   &chainstate.Params{ChainID: exChainID},
		blocks:   map[chainstate.Hash]BlockInfo{},
		heights:  map[uint64]chainstate.Hash{},
		accounts: map[chainstate.Address]AccountInfo{},
		txs:      map[chainstate.Hash]TxInfo{},
		status: Status{NodeID: strings.Repeat("11", 32), ChainID: exChainID,
			GenesisHash: strings.Repeat("22", 32), Height: 3, TipHash: strings.Repeat("33", 32),
			TotalWork: big.NewInt(4 << 16), Target: "00000fff" + strings.Repeat("f", 56), Difficulty: 2.5, Peers: 2, Mempool: 1, Mining: true, Version: "v-test"},
	}
}

// enter is the common prologue of ctx methods: it applies hold, panicMsg and err.
func (f *fake) enter() error {
	f.mu.Lock()
	hold, msg, err := f.hold, f.panicMsg, f.err
	f.mu.Unlock()
	if hold != nil {
		<-hold
	}
	if msg != "" {
		panic(msg)
	}
	return err
}

func (f *fake) Status(ctx context.Context) (Status, error) {
	if err := f.enter(); err != nil {
		return Status{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status, nil
}

func (f *fake) Health(ctx context.Context) (Health, error) {
	if err := f.enter(); err != nil {
		return Health{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.health, nil
}

func (f *fake) BlockAt(ctx context.Context, height uint64) (BlockInfo, error) {
	if err := f.enter(); err != nil {
		return BlockInfo{}, err
	}
	f.mu.Lock()
	h, ok := f.heights[height]
	f.mu.Unlock()
	if !ok {
		return BlockInfo{}, errNotFound
	}
	return f.BlockByHash(ctx, h)
}

func (f *fake) BlockByHash(ctx context.Context, h chainstate.Hash) (BlockInfo, error) {
	if err := f.enter(); err != nil {
		return BlockInfo{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.blocks[h]
	if !ok {
		return BlockInfo{}, errNotFound
	}
	return b, nil
}

func (f *fake) Account(ctx context.Context, a chainstate.Address) (AccountInfo, error) {
	if err := f.enter(); err != nil {
		return AccountInfo{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if info, ok := f.accounts[a]; ok {
		return info, nil
	}
	return AccountInfo{Address: hex.EncodeToString(a[:])}, nil
}

func (f *fake) SubmitTx(ctx context.Context, tx *chainstate.Tx) (chainstate.Hash, error) {
	if err := f.enter(); err != nil {
		return chainstate.Hash{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.submitErr != nil {
		return chainstate.Hash{}, f.submitErr
	}
	f.submitted = append(f.submitted, tx)
	return fakeSubmitHash, nil
}

func (f *fake) Tx(ctx context.Context, h chainstate.Hash) (TxInfo, error) {
	if err := f.enter(); err != nil {
		return TxInfo{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	info, ok := f.txs[h]
	if !ok {
		return TxInfo{}, errNotFound
	}
	return info, nil
}

func (f *fake) Mempool(ctx context.Context) ([]chainstate.Hash, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.mempool), nil
}

func (f *fake) Peers(ctx context.Context) (PeersInfo, error) {
	if err := f.enter(); err != nil {
		return PeersInfo{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peers, nil
}

func (f *fake) AddPeer(ctx context.Context, addr string) error {
	if err := f.enter(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dialled = append(f.dialled, addr)
	return nil
}

func (f *fake) ExportPeers(ctx context.Context) (*Bundle, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return NewBundle(f.params, f.imported, time.Unix(1_700_000_000, 0)), nil
}

func (f *fake) ImportPeers(ctx context.Context, b *Bundle) (int, error) {
	if err := f.enter(); err != nil {
		return 0, err
	}
	recs, err := b.Records(f.params)
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.imported = append(f.imported, recs...)
	return len(recs), nil
}

func (f *fake) SetMining(ctx context.Context, enabled bool) error {
	if err := f.enter(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mining = enabled
	return nil
}

func (f *fake) ActorTree() ActorNode {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tree
}

func (f *fake) FaultInjection() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fault
}

// knownLocked reports whether name is in the fake's tree, the root excluded (f.mu held).
func (f *fake) knownLocked(name string) bool {
	var walk func(n ActorNode) bool
	walk = func(n ActorNode) bool {
		if n.Name == name {
			return true
		}
		return slices.ContainsFunc(n.Children, walk)
	}
	return name != f.tree.Name && walk(f.tree)
}

func (f *fake) CrashActor(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.knownLocked(name) {
		return errcode.New(errcode.UnknownActor, fmt.Sprintf("no actor %q", name))
	}
	f.crashed = append(f.crashed, name)
	return nil
}

func (f *fake) KillActor(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.knownLocked(name) {
		return errcode.New(errcode.UnknownActor, fmt.Sprintf("no actor %q", name))
	}
	f.killed = append(f.killed, name)
	return nil
}

func (f *fake) SetStorageFault(ctx context.Context, fail bool) (bool, error) {
	if err := f.enter(); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = fail
	return fail, nil
}

func (f *fake) SetClockSkew(ctx context.Context, skew int64) (int64, error) {
	if err := f.enter(); err != nil {
		return 0, err
	}
	// The node's rule (actors.CheckClockSkew): |skew| s below the chain's future drift.
	if skew <= -int64(chainstate.DefaultMaxFutureDriftMs/1000) || skew >= int64(chainstate.DefaultMaxFutureDriftMs/1000) {
		return 0, fmt.Errorf("skew_seconds: |%d| s must be below the chain's future drift of %d ms: %w", skew, chainstate.DefaultMaxFutureDriftMs, errOutOfRange)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.skew = skew
	return skew, nil
}

func (f *fake) SetLink(ctx context.Context, l LinkFilter) ([]LinkFilter, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.links = slices.DeleteFunc(f.links, func(x LinkFilter) bool { return x.Peer == l.Peer })
	if l.Cut || l.DelayMs > 0 || l.Loss > 0 {
		f.links = append(f.links, l)
	}
	return slices.Clone(f.links), nil
}

func (f *fake) Links(ctx context.Context) ([]LinkFilter, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.links), nil
}

func (f *fake) ClearLinks(ctx context.Context) ([]LinkFilter, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.links = nil
	return nil, nil
}

func (f *fake) Params() *chainstate.Params { return f.params }

func (f *fake) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, "actorchain_chain_height 3\n")
	})
}

func (f *fake) submittedTxs() []*chainstate.Tx {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.submitted)
}

func (f *fake) faults() (crashed, killed []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.crashed), slices.Clone(f.killed)
}

func (f *fake) set(fn func(f *fake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// sampleTree is a tree like the node's.
func sampleTree() ActorNode {
	leaf := func(name string, restarts int) ActorNode {
		return ActorNode{Name: name, State: "running", Restarts: restarts}
	}
	miner := leaf("miner", 0)
	miner.Children = []ActorNode{leaf("miner/worker-0", 2), leaf("miner/worker-1", 0)}
	root := leaf("node", 0)
	root.Children = []ActorNode{leaf("storage", 0), leaf("consensus", 1), leaf("mempool", 0),
		leaf("peers", 0), miner, leaf("api", 0)}
	return root
}

// server serves NewHandler(f, opts) and closes it when the test ends.
func server(t *testing.T, f *fake, opts Options) *httptest.Server {
	t.Helper()
	return serve(t, NewHandler(f, opts))
}

// serve serves h and closes the server when the test ends.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// answer is a decoded response.
type answer struct {
	status int
	header http.Header
	raw    []byte
}

// json decodes the answer's body into a generic value.
func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.raw, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v: %q", a.status, err, a.raw)
	}
	return m
}

func do(t *testing.T, srv *httptest.Server, method, path string, body io.Reader, header ...string) answer {
	t.Helper()
	return doWith(t, srv.Client(), srv, method, path, body, header...)
}

// doWith is do with a given client (one with a timeout, say).
func doWith(t *testing.T, c *http.Client, srv *httptest.Server, method, path string, body io.Reader, header ...string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: res.StatusCode, header: res.Header, raw: raw}
}

func get(t *testing.T, srv *httptest.Server, path string) answer {
	t.Helper()
	return do(t, srv, http.MethodGet, path, nil)
}

func post(t *testing.T, srv *httptest.Server, path, body string) answer {
	t.Helper()
	return do(t, srv, http.MethodPost, path, strings.NewReader(body), "Content-Type", "application/json")
}

// wantError checks an error answer: its status, the JSON content type, the code, and a
// non-empty message containing every piece of wantIn.
func wantError(t *testing.T, a answer, status int, code errcode.Code, wantIn ...string) {
	t.Helper()
	if a.status != status {
		t.Errorf("status %d, want %d; body %q", a.status, status, a.raw)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	m := a.json(t)
	if got := sortedKeys(m); !slices.Equal(got, []string{"code", "error"}) {
		t.Errorf("error body keys %v, want [code error]: %q", got, a.raw)
	}
	if m["code"] != string(code) {
		t.Errorf("code %v, want %q; body %q", m["code"], code, a.raw)
	}
	msg, _ := m["error"].(string)
	if msg == "" {
		t.Errorf("empty error message: %q", a.raw)
	}
	for _, w := range wantIn {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// wantKeys checks that m has exactly the given keys.
func wantKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	want := slices.Clone(keys)
	sort.Strings(want)
	if got := sortedKeys(m); !slices.Equal(got, want) {
		t.Errorf("%s keys %v, want %v", what, got, want)
	}
}

// verboseLogger records JSON at debug level.
func verboseLogger() (*slog.Logger, *testutil.LogBuffer) {
	buf := &testutil.LogBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// The node's refusals, as the facade returns them (actors.ErrNotFound and the others are these).
var (
	errNotFound           = errcode.New(errcode.NotFound, "not found")
	errUnavailable        = errcode.New(errcode.Busy, "temporarily unavailable")
	errStopped            = errcode.New(errcode.Busy, "node is stopping")
	errStorageUnavailable = &errcode.Error{Code: errcode.StorageUnavailable, Reason: "storage commits are failing: temporarily unavailable", Err: errUnavailable}
	errOutOfRange         = errcode.New(errcode.OutOfRange, "out of range")
)
