package api

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/errcode"
)

func TestClient(t *testing.T) {
	f := newFake()
	hash, b := blockFixture(f)
	pending := filled[chainstate.Hash](0x51)
	f.set(func(f *fake) {
		f.tree, f.fault = sampleTree(), true
		f.txs[pending] = TxInfo{Tx: exampleTx(t)}
		f.mempool = []chainstate.Hash{pending}
	})
	srv := server(t, f, Options{})
	c := NewClient(srv.URL+"/", srv.Client())
	ctx := t.Context()

	st, err := c.Status(ctx)
	if err != nil || st.Height != 3 || st.TotalWork.Int64() != 4<<16 || st.ChainID != exChainID {
		t.Errorf("Status: %+v %v", st, err)
	}
	blk, err := c.Block(ctx, "5")
	if err != nil || blk.Hash != encodeHex(hash[:]) || blk.Height != b.Header.Height || blk.Nonce != 42 || len(blk.Txs) != 0 {
		t.Errorf("Block: %+v %v", blk, err)
	}
	if _, err := c.Block(ctx, "6"); !isAPIError(err, 404, errcode.NotFound) {
		t.Errorf("Block unknown: %v", err)
	}
	if _, err := c.Block(ctx, "a/b"); !isAPIError(err, 400, errcode.Malformed) {
		t.Errorf("Block with a slash: %v", err)
	}
	acc, err := c.Account(ctx, exTo)
	if err != nil || acc.Address != exTo || acc.Balance != 0 {
		t.Errorf("Account: %+v %v", acc, err)
	}
	tx := Tx{ChainID: exChainID, From: exFrom, To: exTo, Amount: 7, Fee: 1, Nonce: 0, Signature: exSig}
	h, err := c.SubmitTx(ctx, tx)
	if err != nil || h != strings.Repeat("ab", 32) {
		t.Errorf("SubmitTx: %q %v", h, err)
	}
	ts, err := c.Tx(ctx, encodeHex(pending[:]))
	if err != nil || ts.Status != TxPending || ts.Tx == nil || ts.Tx.From != exFrom {
		t.Errorf("Tx: %+v %v", ts, err)
	}
	mp, err := c.Mempool(ctx)
	if err != nil || mp.Count != 1 || mp.Txs[0] != encodeHex(pending[:]) {
		t.Errorf("Mempool: %+v %v", mp, err)
	}
	on, err := c.SetMining(ctx, true)
	if err != nil || !on {
		t.Errorf("SetMining: %v %v", on, err)
	}
	tree, err := c.Actors(ctx)
	if err != nil || tree.Name != "node" {
		t.Errorf("Actors: %+v %v", tree, err)
	}
	if w, ok := tree.Find("miner/worker-0"); !ok || w.Restarts != 2 || w.State != "running" || w.Children == nil {
		t.Errorf("Find worker: %+v %v", w, ok)
	}
	peers, err := c.Peers(ctx)
	if err != nil || peers.Connected == nil || peers.Known == nil {
		t.Errorf("Peers: %+v %v", peers, err)
	}
	if err := c.Crash(ctx, "miner/worker-0"); err != nil {
		t.Errorf("Crash: %v", err)
	}
	if err := c.Kill(ctx, "consensus"); err != nil {
		t.Errorf("Kill: %v", err)
	}
	if err := c.Kill(ctx, "no-such-actor"); !isAPIError(err, 404, errcode.UnknownActor) {
		t.Errorf("Kill unknown: %v", err)
	}
	if crashed, killed := f.faults(); len(crashed) != 1 || crashed[0] != "miner/worker-0" || len(killed) != 1 {
		t.Errorf("faults %v %v", crashed, killed)
	}
	if err := c.AddPeer(ctx, strings.Repeat("ab", 32)+"@127.0.0.1:1"); err != nil {
		t.Errorf("AddPeer: %v", err)
	}
	bundle, err := c.ExportPeers(ctx)
	if err != nil {
		t.Errorf("ExportPeers: %v", err)
	}
	if n, err := c.ImportPeers(ctx, bundle); err != nil || n != 0 {
		t.Errorf("ImportPeers of an empty bundle of this chain: %d, %v", n, err)
	}
	if _, err := c.ImportPeers(ctx, []byte(`{"version":1}`)); !isAPIError(err, 400, errcode.WrongChain) {
		t.Errorf("ImportPeers of another chain: %v", err)
	}
}

func TestClientErrors(t *testing.T) {
	f := newFake()
	f.set(func(f *fake) {
		f.submitErr = &errcode.Error{Code: "bad_nonce", Detail: errcode.NonceGap, Reason: "nonce 3 is not the next nonce 0"}
	})
	srv := server(t, f, Options{})
	c := NewClient(srv.URL, nil)
	_, err := c.SubmitTx(t.Context(), Tx{ChainID: exChainID, From: exFrom, To: exTo, Amount: 7, Nonce: 3, Signature: exSig})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "bad_nonce" || ae.Detail != errcode.NonceGap || err.Error() != "nonce 3 is not the next nonce 0" {
		t.Errorf("rejection: %#v", err)
	}
	// The wire form: the contract's code, and the refinement beside it.
	a := post(t, srv, "/v1/txs", exampleBody())
	if m := a.json(t); a.status != 400 || m["code"] != "bad_nonce" || m["detail"] != "nonce_gap" {
		t.Errorf("bad_nonce answer %d %q, want 400 with code bad_nonce and detail nonce_gap", a.status, a.raw)
	}
	_, err = c.SubmitTx(t.Context(), Tx{ChainID: "other", From: exFrom, To: exTo, Amount: 7, Signature: exSig})
	if !isAPIError(err, 400, errcode.WrongChain) {
		t.Errorf("wrong chain: %v", err)
	}
	if err := c.Crash(t.Context(), "consensus"); !isAPIError(err, 404, errcode.NotFound) {
		t.Errorf("crash with fault injection off: %v", err)
	}

	// A non-JSON error answer (a proxy, another server) still becomes an *APIError.
	plain := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}))
	_, err = NewClient(plain.URL, nil).Status(t.Context())
	if !errors.As(err, &ae) || ae.Status != 502 || ae.Code != "" || !strings.Contains(err.Error(), "bad gateway") {
		t.Errorf("plain error: %#v", err)
	}
	// A node that is not there is a transport error, not an *APIError.
	plain.Close()
	if _, err := NewClient(plain.URL, nil).Status(t.Context()); err == nil || errors.As(err, &ae) {
		t.Errorf("closed server: %v", err)
	}
}

func isAPIError(err error, status int, code errcode.Code) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == status && ae.Code == code && ae.Message != ""
}
