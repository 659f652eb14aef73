package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/errcode"
)

func TestStatus(t *testing.T) {
	f := newFake()
	f.set(func(f *fake) { f.status.SyncTarget = 9 })
	srv := server(t, f, Options{})
	a := get(t, srv, "/v1/status")
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %q: %q", a.status, a.header.Get("Content-Type"), a.raw)
	}
	m := a.json(t)
	wantKeys(t, "status", m, "node_id", "chain_id", "genesis_hash", "height", "tip_hash", "total_work",
		"target", "difficulty", "peers", "mempool", "mining", "syncing", "sync_target_height", "version", "healthy")
	if m["target"] != "00000fff"+strings.Repeat("f", 56) || m["difficulty"] != 2.5 {
		t.Errorf("status target/difficulty: %q", a.raw)
	}
	if m["height"] != 3.0 || m["sync_target_height"] != 9.0 || m["total_work"] != float64(4<<16) || m["peers"] != 2.0 || m["mempool"] != 1.0 ||
		m["mining"] != true || m["syncing"] != false || m["version"] != "v-test" || m["chain_id"] != exChainID {
		t.Errorf("status values: %q", a.raw)
	}
}

func TestStatusFillsVersionAndWork(t *testing.T) {
	f := newFake()
	f.set(func(f *fake) { f.status.Version, f.status.TotalWork = "", nil })
	srv := server(t, f, Options{Version: "1.2.3"})
	a := get(t, srv, "/v1/status")
	m := a.json(t)
	if m["version"] != "1.2.3" || m["total_work"] != 0.0 {
		t.Errorf("version/total_work not filled: %q", a.raw)
	}
	if got := a.header.Get("Server"); got != "actorchain/1.2.3" {
		t.Errorf("Server header %q", got)
	}
}

// blockFixture stores a block holding the worked-example transaction at height 5.
func blockFixture(f *fake) (chainstate.Hash, *chainstate.Block) {
	hash := filled[chainstate.Hash](0x99)
	b := &chainstate.Block{
		Header: chainstate.Header{Version: 1, PrevHash: filled[chainstate.Hash](1), Height: 5, Bits: 16,
			TxRoot: filled[chainstate.Hash](2), StateRoot: filled[chainstate.Hash](3),
			Miner: filled[chainstate.PublicKey](4), MinerSig: filled[chainstate.Signature](5),
			Time: 1767225600123, Nonce: 42},
	}
	f.set(func(f *fake) {
		f.blocks[hash] = BlockInfo{Block: b, Hash: hash, Main: true}
		f.heights[5] = hash
	})
	return hash, b
}

// TestBlock needs chainstate's Tx.Hash (the block's transactions are listed with their hashes).
func TestBlock(t *testing.T) {
	f := newFake()
	hash, b := blockFixture(f)
	b.Txs = []*chainstate.Tx{exampleTx(t)}
	srv := server(t, f, Options{})
	for _, id := range []string{"5", "005", encodeHex(hash[:]), strings.ToUpper(encodeHex(hash[:]))} {
		a := get(t, srv, "/v1/blocks/"+id)
		if a.status != http.StatusOK {
			t.Fatalf("GET /v1/blocks/%s: %d %q", id, a.status, a.raw)
		}
		m := a.json(t)
		wantKeys(t, "block", m, "hash", "height", "prev_hash", "time", "bits", "target", "nonce", "miner", "tx_root",
			"state_root", "version", "miner_signature", "main_chain", "txs")
		want := map[string]any{
			"hash": strings.Repeat("99", 32), "height": 5.0, "prev_hash": strings.Repeat("01", 32),
			"time": 1767225600123.0, "bits": 16.0, "target": "0000" + strings.Repeat("f", 60), "nonce": 42.0, "miner": strings.Repeat("04", 32),
			"tx_root": strings.Repeat("02", 32), "state_root": strings.Repeat("03", 32), "version": 1.0,
			"miner_signature": strings.Repeat("05", 64), "main_chain": true,
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s: %s = %v, want %v", id, k, m[k], v)
			}
		}
		txs, _ := m["txs"].([]any)
		if len(txs) != 1 {
			t.Fatalf("txs: %v", m["txs"])
		}
		tx := txs[0].(map[string]any)
		wantKeys(t, "block tx", tx, "hash", "chain_id", "from", "to", "amount", "fee", "nonce", "signature")
		if tx["hash"] != exHash || tx["from"] != exFrom || tx["to"] != exTo || tx["signature"] != exSig ||
			tx["amount"] != 7.0 || tx["fee"] != 1.0 || tx["nonce"] != 0.0 || tx["chain_id"] != exChainID {
			t.Errorf("block tx: %v", tx)
		}
	}
}

// TestBlockTarget: a block of an adjusting chain shows the target the backend gives, in 64 hex,
// beside its compact bits.
func TestBlockTarget(t *testing.T) {
	f := newFake()
	hash, b := blockFixture(f)
	b.Header.Bits = 0x1f123456
	target, err := chainstate.CompactToTarget(b.Header.Bits)
	if err != nil {
		t.Fatal(err)
	}
	f.set(func(f *fake) { f.blocks[hash] = BlockInfo{Block: b, Hash: hash, Main: true, Target: target} })
	m := get(t, server(t, f, Options{}), "/v1/blocks/5").json(t)
	if m["target"] != "00123456"+strings.Repeat("0", 56) || m["bits"] != float64(0x1f123456) {
		t.Errorf("target %v bits %v", m["target"], m["bits"])
	}
}

func TestBlockWithoutTxs(t *testing.T) {
	f := newFake()
	blockFixture(f)
	srv := server(t, f, Options{})
	a := get(t, srv, "/v1/blocks/5")
	if !bytes.Contains(a.raw, []byte(`"txs":[]`)) {
		t.Errorf("empty block's txs is not []: %q", a.raw)
	}
}

func TestBlockErrors(t *testing.T) {
	f := newFake()
	blockFixture(f)
	srv := server(t, f, Options{})
	for _, tc := range []struct {
		id     string
		status int
		code   errcode.Code
	}{
		{"zzzz", 400, errcode.Malformed},
		{"-1", 400, errcode.Malformed},
		{"+1", 400, errcode.Malformed},
		{"1.5", 400, errcode.Malformed},
		{"99999999999999999999999", 400, errcode.Malformed},
		{strings.Repeat("a", 63), 400, errcode.Malformed},
		{strings.Repeat("g", 64), 400, errcode.Malformed},
		{"6", 404, errcode.NotFound},
		{strings.Repeat("ab", 32), 404, errcode.NotFound},
	} {
		t.Run(tc.id, func(t *testing.T) {
			wantError(t, get(t, srv, "/v1/blocks/"+tc.id), tc.status, tc.code)
		})
	}
}

func TestAccount(t *testing.T) {
	f := newFake()
	addr := filled[chainstate.Address](0x6a)
	f.set(func(f *fake) {
		f.accounts[addr] = AccountInfo{Address: encodeHex(addr[:]), Balance: 1000, Nonce: 2, PendingNonce: 4}
	})
	srv := server(t, f, Options{})
	a := get(t, srv, "/v1/accounts/"+strings.ToUpper(encodeHex(addr[:])))
	if a.status != http.StatusOK {
		t.Fatalf("%d %q", a.status, a.raw)
	}
	m := a.json(t)
	wantKeys(t, "account", m, "address", "balance", "nonce", "pending_nonce")
	if m["address"] != encodeHex(addr[:]) || m["balance"] != 1000.0 || m["nonce"] != 2.0 || m["pending_nonce"] != 4.0 {
		t.Errorf("account: %q", a.raw)
	}
	for _, bad := range []string{"zz", "%00%01", strings.Repeat("0", 41), strings.Repeat("x", 40)} {
		wantError(t, get(t, srv, "/v1/accounts/"+bad), 400, errcode.Malformed, "address")
	}
}

func TestSubmitTx(t *testing.T) {
	f := newFake()
	srv := server(t, f, Options{})
	a := post(t, srv, "/v1/txs", exampleBody())
	if a.status != http.StatusAccepted {
		t.Fatalf("%d %q", a.status, a.raw)
	}
	m := a.json(t)
	wantKeys(t, "submit", m, "hash")
	if m["hash"] != strings.Repeat("ab", 32) {
		t.Errorf("hash %v, want the backend's", m["hash"])
	}
	if got := f.submittedTxs(); len(got) != 1 || *got[0] != *exampleTx(t) {
		t.Errorf("backend got %+v, want the example", got)
	}
}

// TestSubmitTxWithHash needs chainstate's Tx.Hash: a "hash" in the body must match.
func TestSubmitTxWithHash(t *testing.T) {
	f := newFake()
	srv := server(t, f, Options{})
	with := func(h string) string { return strings.Replace(exampleBody(), "{", `{"hash":"`+h+`",`, 1) }
	if a := post(t, srv, "/v1/txs", with(exHash)); a.status != http.StatusAccepted {
		t.Errorf("matching hash: %d %q", a.status, a.raw)
	}
	wantError(t, post(t, srv, "/v1/txs", with(strings.Repeat("00", 32))), 400, errcode.Malformed, "hash")
}

func TestSubmitTxRejections(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   errcode.Code
	}{
		{&errcode.Error{Code: "bad_signature", Reason: "signature does not verify"}, 400, "bad_signature"},
		{&errcode.Error{Code: "bad_nonce", Reason: "nonce 5, want 0"}, 400, "bad_nonce"},
		{&errcode.Error{Code: "insufficient_funds", Reason: "balance 0"}, 400, "insufficient_funds"},
		{&errcode.Error{Code: "wrong_chain", Reason: "other chain"}, 400, "wrong_chain"},
		{&errcode.Error{Code: "malformed", Reason: "bad"}, 400, "malformed"},
		{&errcode.Error{Code: "duplicate", Reason: "known"}, 400, "duplicate"},
		{&errcode.Error{Code: "mempool_full", Reason: "full"}, 400, "mempool_full"},
		{&errcode.Error{Code: errcode.FeeTooLow, Reason: "a replacement needs a fee of at least 22"}, 400, "fee_too_low"},
		{fmt.Errorf("wrapped: %w", &errcode.Error{Code: "bad_nonce", Reason: "nonce"}), 400, "bad_nonce"},
		{errUnavailable, 503, errcode.Busy},
		{errStopped, 503, errcode.Busy},
		{context.DeadlineExceeded, 503, errcode.Busy},
		{errors.New("disk on fire"), 500, errcode.Internal},
	} {
		t.Run(string(tc.code), func(t *testing.T) {
			f := newFake()
			f.set(func(f *fake) { f.submitErr = tc.err })
			srv := server(t, f, Options{})
			wantError(t, post(t, srv, "/v1/txs", exampleBody()), tc.status, tc.code)
		})
	}
}

func TestSubmitTxWrongChain(t *testing.T) {
	f := newFake()
	srv := server(t, f, Options{})
	body := strings.Replace(exampleBody(), exChainID, "other-chain", 1)
	wantError(t, post(t, srv, "/v1/txs", body), 400, errcode.WrongChain, "other-chain", exChainID)
	if n := len(f.submittedTxs()); n != 0 {
		t.Error("a wrong-chain transaction reached the backend")
	}
}

// TestStrictJSON covers every way a POST /v1/txs body can be malformed: each gets 400 malformed
// naming the field or the problem, and none reaches the backend.
func TestStrictJSON(t *testing.T) {
	f := newFake()
	srv := server(t, f, Options{})
	valid := exampleBody()
	field := func(name, value string) string { // the example with one field's raw JSON replaced
		m := map[string]string{"chain_id": `"` + exChainID + `"`, "from": `"` + exFrom + `"`, "to": `"` + exTo + `"`,
			"amount": "7", "fee": "1", "nonce": "0", "signature": `"` + exSig + `"`}
		var parts []string
		for _, k := range []string{"chain_id", "from", "to", "amount", "fee", "nonce", "signature"} {
			v := m[k]
			if k == name {
				if value == "" {
					continue
				}
				v = value
			}
			parts = append(parts, fmt.Sprintf("%q:%s", k, v))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	for _, tc := range []struct {
		name, body, mention string
	}{
		{"empty", "", "empty"},
		{"spaces", "  \n ", "empty"},
		{"not json", "not json", "invalid JSON"},
		{"empty object", "{}", "chain_id: missing"},
		{"null", "null", "JSON object"},
		{"array", "[1,2,3]", "JSON object"},
		{"string", `"tx"`, "JSON object"},
		{"number", "5", "JSON object"},
		{"truncated", valid[:40], "truncated"},
		{"amount only negative", `{"amount": -5}`, "amount"},
		{"unknown field", strings.Replace(valid, "{", `{"memo":"hi",`, 1), "memo: unknown field"},
		{"trailing object", valid + ` {}`, "after the JSON object"},
		{"trailing garbage", valid + `x`, "after the JSON object"},
		{"two objects", valid + valid, "after the JSON object"},
		{"negative amount", field("amount", "-5"), "amount"},
		{"fractional amount", field("amount", "1.5"), "amount"},
		{"exponent amount", field("amount", "1e3"), "amount"},
		{"string amount", field("amount", `"7"`), "amount"},
		{"huge amount", field("amount", "18446744073709551616"), "amount"},
		{"zero amount", field("amount", "0"), "amount"},
		{"null amount", field("amount", "null"), "amount: missing"},
		{"missing amount", field("amount", ""), "amount: missing"},
		{"missing fee", field("fee", ""), "fee: missing"},
		{"negative fee", field("fee", "-1"), "fee"},
		{"missing nonce", field("nonce", ""), "nonce: missing"},
		{"fractional nonce", field("nonce", "0.5"), "nonce"},
		{"missing chain id", field("chain_id", ""), "chain_id: missing"},
		{"empty chain id", field("chain_id", `""`), "chain_id"},
		{"long chain id", field("chain_id", `"`+strings.Repeat("c", 65)+`"`), "chain_id"},
		{"missing from", field("from", ""), "from: missing"},
		{"short from", field("from", `"abcd"`), "from: want 64 hex characters"},
		{"non-hex from", field("from", `"`+strings.Repeat("zz", 32)+`"`), "from"},
		{"numeric from", field("from", "12"), "from"},
		{"missing to", field("to", ""), "to: missing"},
		{"short to", field("to", `"zz"`), "to: want 40 hex characters"},
		{"missing signature", field("signature", ""), "signature: missing"},
		{"short signature", field("signature", `"00"`), "signature: want 128 hex characters"},
		{"acceptance body", `{"from":"zz","to":"zz","amount":1,"fee":0,"nonce":0,"signature":"00"}`, "chain_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, post(t, srv, "/v1/txs", tc.body), 400, errcode.Malformed, tc.mention)
		})
	}
	if n := len(f.submittedTxs()); n != 0 {
		t.Errorf("%d malformed transactions reached the backend", n)
	}
}

// onlyReader hides the length of a body, so the request is sent chunked.
type onlyReader struct{ io.Reader }

func TestBodyLimit(t *testing.T) {
	f := newFake()
	srv := server(t, f, Options{})
	big := strings.Repeat("a", 3_000_000)
	t.Run("3MB with length", func(t *testing.T) {
		wantError(t, post(t, srv, "/v1/txs", big), 413, errcode.BodyTooLarge)
	})
	t.Run("3MB chunked", func(t *testing.T) {
		a := do(t, srv, http.MethodPost, "/v1/txs", onlyReader{strings.NewReader(big)})
		wantError(t, a, 413, errcode.BodyTooLarge)
	})
	t.Run("valid JSON padded over 1 MiB", func(t *testing.T) {
		body := exampleBody() + strings.Repeat(" ", DefaultMaxBodyBytes)
		wantError(t, post(t, srv, "/v1/txs", body), 413, errcode.BodyTooLarge)
	})
	t.Run("valid JSON padded to exactly 1 MiB", func(t *testing.T) {
		body := exampleBody()
		body += strings.Repeat(" ", DefaultMaxBodyBytes-len(body))
		if a := post(t, srv, "/v1/txs", body); a.status != http.StatusAccepted {
			t.Errorf("%d %q", a.status, a.raw)
		}
	})
	t.Run("mining", func(t *testing.T) {
		wantError(t, post(t, srv, "/v1/mining", big), 413, errcode.BodyTooLarge)
	})
	t.Run("option", func(t *testing.T) {
		srv := server(t, newFake(), Options{MaxBodyBytes: 16})
		wantError(t, post(t, srv, "/v1/mining", `{"enabled":   true}`), 413, errcode.BodyTooLarge)
	})
}

func TestTx(t *testing.T) {
	f := newFake()
	pending, confirmed, replaced := filled[chainstate.Hash](0x51), filled[chainstate.Hash](0x52), filled[chainstate.Hash](0x53)
	f.set(func(f *fake) {
		f.txs[pending] = TxInfo{Tx: exampleTx(t)}
		f.txs[confirmed] = TxInfo{Tx: exampleTx(t), Confirmed: true, Height: 9, BlockHash: filled[chainstate.Hash](0x77)}
		f.txs[replaced] = TxInfo{Replaced: true, ReplacedBy: pending}
	})
	srv := server(t, f, Options{})

	a := get(t, srv, "/v1/txs/"+encodeHex(pending[:]))
	m := a.json(t)
	wantKeys(t, "pending tx", m, "hash", "status", "height", "block_hash", "tx")
	if a.status != 200 || m["hash"] != strings.Repeat("51", 32) || m["status"] != "pending" || m["height"] != 0.0 || m["block_hash"] != "" {
		t.Errorf("pending: %d %q", a.status, a.raw)
	}
	tx := m["tx"].(map[string]any)
	wantKeys(t, "tx.tx", tx, "hash", "chain_id", "from", "to", "amount", "fee", "nonce", "signature")
	if tx["from"] != exFrom || tx["signature"] != exSig || tx["hash"] != m["hash"] {
		t.Errorf("tx: %v", tx)
	}

	a = get(t, srv, "/v1/txs/"+encodeHex(confirmed[:]))
	m = a.json(t)
	if a.status != 200 || m["status"] != "confirmed" || m["height"] != 9.0 || m["block_hash"] != strings.Repeat("77", 32) {
		t.Errorf("confirmed: %d %q", a.status, a.raw)
	}

	a = get(t, srv, "/v1/txs/"+encodeHex(replaced[:]))
	m = a.json(t)
	wantKeys(t, "replaced tx", m, "hash", "status", "height", "block_hash", "replaced_by")
	if a.status != 200 || m["status"] != "replaced" || m["replaced_by"] != strings.Repeat("51", 32) || m["height"] != 0.0 || m["block_hash"] != "" {
		t.Errorf("replaced: %d %q", a.status, a.raw)
	}

	wantError(t, get(t, srv, "/v1/txs/"+strings.Repeat("00", 32)), 404, errcode.NotFound)
	wantError(t, get(t, srv, "/v1/txs/abc"), 400, errcode.Malformed, "hash")
}

func TestMempool(t *testing.T) {
	f := newFake()
	srv := server(t, f, Options{})
	a := get(t, srv, "/v1/mempool")
	m := a.json(t)
	wantKeys(t, "mempool", m, "count", "txs")
	if !bytes.Contains(a.raw, []byte(`"txs":[]`)) || m["count"] != 0.0 {
		t.Errorf("empty mempool: %q", a.raw)
	}
	f.set(func(f *fake) { f.mempool = []chainstate.Hash{filled[chainstate.Hash](1), filled[chainstate.Hash](2)} })
	m = get(t, srv, "/v1/mempool").json(t)
	txs, _ := m["txs"].([]any)
	if m["count"] != 2.0 || len(txs) != 2 || txs[0] != strings.Repeat("01", 32) || txs[1] != strings.Repeat("02", 32) {
		t.Errorf("mempool: %v", m)
	}
}

func TestPeers(t *testing.T) {
	f := newFake()
	srv := server(t, f, Options{})
	a := get(t, srv, "/v1/peers")
	wantKeys(t, "peers", a.json(t), "connected", "known")
	if !bytes.Contains(a.raw, []byte(`"connected":[]`)) || !bytes.Contains(a.raw, []byte(`"known":[]`)) {
		t.Errorf("nil peer lists are not []: %q", a.raw)
	}
	f.set(func(f *fake) {
		f.peers = PeersInfo{
			Connected: []PeerInfo{{ID: "aa", Addr: "127.0.0.1:1", Direction: "inbound", Height: 3}},
			Known:     []KnownPeer{{ID: "aa", Addr: "127.0.0.1:1", LastSeen: time.Unix(1, 0).UTC()}},
		}
	})
	m := get(t, srv, "/v1/peers").json(t)
	wantKeys(t, "connected peer", m["connected"].([]any)[0].(map[string]any), "id", "addr", "direction", "height")
	wantKeys(t, "known peer", m["known"].([]any)[0].(map[string]any), "id", "addr", "last_seen")
}

func TestAddPeer(t *testing.T) {
	srv := server(t, newFake(), Options{})
	id := strings.Repeat("ab", 32)
	for _, ok := range []string{id + "@127.0.0.1:7600", id + "@[::1]:7600"} {
		if res := post(t, srv, "/v1/peers", `{"addr":"`+ok+`"}`); res.status != 202 {
			t.Fatalf("POST /v1/peers %s: %d, want 202", ok, res.status)
		}
	}
	for _, body := range []string{
		`{}`, `{"addr":""}`, `{"addr":"127.0.0.1:7600"}`, `{"addr":"zz@127.0.0.1:7600"}`,
		`{"addr":"` + id + `@127.0.0.1"}`, `{"addr":"` + id + `@:7600"}`, `{"addr":"` + id + `@h:0"}`,
		`{"addr":"` + id + `@h:70000"}`, `{"addr":"` + id + `@h:+80"}`, `{"addr":"` + id + `@h:1","x":1}`,
		`not json`,
	} {
		wantError(t, post(t, srv, "/v1/peers", body), 400, errcode.Malformed)
	}
}

func TestPeerBundle(t *testing.T) {
	f := newFake()
	srv := server(t, f, Options{})
	g := f.params.GenesisHash().String()
	id := strings.Repeat("cd", 32)
	good := `{"version":1,"chain_id":"` + f.params.ChainID + `","genesis_hash":"` + g + `","exported_at":"2026-01-01T00:00:00Z","peers":[{"id":"` + id + `","addr":"127.0.0.1:7600","last_seen":"2026-01-01T00:00:00Z"}]}`
	res := post(t, srv, "/v1/peers/bundle", good)
	if res.status != 200 {
		t.Fatalf("import: %d %s", res.status, res.raw)
	}
	if added := res.json(t)["added"]; added != float64(1) {
		t.Fatalf("added %v, want 1", added)
	}
	res = get(t, srv, "/v1/peers/bundle")
	b := res.json(t)
	wantKeys(t, "bundle", b, "version", "chain_id", "genesis_hash", "exported_at", "peers")
	if peers := b["peers"].([]any); len(peers) != 1 || peers[0].(map[string]any)["id"] != id {
		t.Fatalf("exported peers %v", b["peers"])
	}
	other := strings.Replace(good, f.params.ChainID, "other-chain", 1)
	wantError(t, post(t, srv, "/v1/peers/bundle", other), 400, errcode.WrongChain)
	badID := strings.Replace(good, id, "zz", 1)
	wantError(t, post(t, srv, "/v1/peers/bundle", badID), 400, errcode.Malformed)
	wantError(t, post(t, srv, "/v1/peers/bundle", `{"version":1,"bogus":2}`), 400, errcode.Malformed)
}

func TestMining(t *testing.T) {
	f := newFake()
	srv := server(t, f, Options{})
	for _, enabled := range []bool{true, false, true} {
		a := post(t, srv, "/v1/mining", fmt.Sprintf(`{"enabled": %t}`, enabled))
		m := a.json(t)
		wantKeys(t, "mining", m, "mining")
		if a.status != 200 || m["mining"] != enabled {
			t.Errorf("enabled %t: %d %q", enabled, a.status, a.raw)
		}
		f.mu.Lock()
		if f.mining != enabled {
			t.Errorf("backend mining %t, want %t", f.mining, enabled)
		}
		f.mu.Unlock()
	}
	// curl -d sends a form content type; the body is still JSON.
	a := do(t, srv, http.MethodPost, "/v1/mining", strings.NewReader(`{"enabled":false}`),
		"Content-Type", "application/x-www-form-urlencoded")
	if a.status != 200 {
		t.Errorf("form content type: %d %q", a.status, a.raw)
	}
	for _, body := range []string{`{}`, `{"enabled":"yes"}`, `{"enabled":1}`, `{"enabled":true,"x":1}`, ``, `[true]`} {
		wantError(t, post(t, srv, "/v1/mining", body), 400, errcode.Malformed)
	}
	wantError(t, post(t, srv, "/v1/mining", `{"enabled":"yes"}`), 400, errcode.Malformed, "enabled")
	f.set(func(f *fake) { f.err = errUnavailable })
	wantError(t, post(t, srv, "/v1/mining", `{"enabled":true}`), 503, errcode.Busy)
}

func TestActors(t *testing.T) {
	f := newFake()
	f.set(func(f *fake) { f.tree = sampleTree() })
	srv := server(t, f, Options{})
	a := get(t, srv, "/v1/actors")
	m := a.json(t)
	wantKeys(t, "actors", m, "name", "state", "restarts", "children")
	if m["name"] != "node" || m["state"] != "running" {
		t.Errorf("root: %q", a.raw)
	}
	children := m["children"].([]any)
	var names []string
	for _, c := range children {
		names = append(names, c.(map[string]any)["name"].(string))
	}
	if !slices.Equal(names, []string{"storage", "consensus", "mempool", "peers", "miner", "api"}) {
		t.Errorf("children %v", names)
	}
	storage := children[0].(map[string]any)
	wantKeys(t, "leaf", storage, "name", "state", "restarts", "children")
	if kids, ok := storage["children"].([]any); !ok || len(kids) != 0 {
		t.Errorf("a leaf's children are %v, want []", storage["children"])
	}
	worker := children[4].(map[string]any)["children"].([]any)[0].(map[string]any)
	if worker["name"] != "miner/worker-0" || worker["restarts"] != 2.0 {
		t.Errorf("worker: %v", worker)
	}
}

func TestFaultInjectionOff(t *testing.T) {
	f := newFake()
	f.set(func(f *fake) { f.tree = sampleTree() })
	srv := server(t, f, Options{})
	for _, path := range []string{"consensus/crash", "consensus/kill", "miner%2Fworker-0/crash", "nope/kill"} {
		wantError(t, do(t, srv, http.MethodPost, "/v1/debug/actors/"+path, nil), 404, errcode.NotFound)
	}
	if crashed, killed := f.faults(); len(crashed)+len(killed) != 0 {
		t.Errorf("fault hooks ran with fault injection off: %v %v", crashed, killed)
	}
}

func TestFaultInjectionOn(t *testing.T) {
	f := newFake()
	f.set(func(f *fake) { f.tree, f.fault = sampleTree(), true })
	srv := server(t, f, Options{})
	for _, tc := range []struct{ path, name, action string }{
		{"consensus/crash", "consensus", "crash"},
		{"miner%2Fworker-0/crash", "miner/worker-0", "crash"},
		{"miner%2fworker-1/kill", "miner/worker-1", "kill"},
		{"mempool/kill", "mempool", "kill"},
	} {
		a := do(t, srv, http.MethodPost, "/v1/debug/actors/"+tc.path, nil)
		if a.status != http.StatusAccepted {
			t.Errorf("%s: %d %q", tc.path, a.status, a.raw)
			continue
		}
		m := a.json(t)
		if m["actor"] != tc.name || m["action"] != tc.action {
			t.Errorf("%s: %q", tc.path, a.raw)
		}
	}
	if crashed, killed := f.faults(); !slices.Equal(crashed, []string{"consensus", "miner/worker-0"}) ||
		!slices.Equal(killed, []string{"miner/worker-1", "mempool"}) {
		t.Errorf("crashed %v killed %v", crashed, killed)
	}
	for _, path := range []string{"no-such-actor/crash", "no-such-actor/kill", "miner%2Fworker-9/crash", "node/kill"} {
		wantError(t, do(t, srv, http.MethodPost, "/v1/debug/actors/"+path, nil), 404, errcode.UnknownActor)
	}
	wantError(t, get(t, srv, "/v1/debug/actors/consensus/crash"), 405, errcode.MethodNotAllowed)
}

func TestUnknownPathAndMethod(t *testing.T) {
	srv := server(t, newFake(), Options{})
	// "/" is the dashboard (TestDashboardAtRootOnly); "/index.html" is not.
	for _, path := range []string{"/index.html", "/v1", "/v1/nope", "/v1/blocks", "/v1/blocks/1/x", "/v2/status", "/debug/pprof/", "/v1/debug/actors/consensus/explode"} {
		wantError(t, get(t, srv, path), 404, errcode.NotFound, path)
	}
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodDelete, "/v1/status", "GET"},
		{http.MethodPost, "/v1/status", "GET"},
		{http.MethodGet, "/v1/txs", "POST"},
		{http.MethodPut, "/v1/txs", "POST"},
		{http.MethodGet, "/v1/mining", "POST"},
		{http.MethodPost, "/metrics", "GET"},
	} {
		a := do(t, srv, tc.method, tc.path, nil)
		wantError(t, a, 405, errcode.MethodNotAllowed, tc.method, tc.path)
		if !strings.Contains(a.header.Get("Allow"), tc.allow) {
			t.Errorf("%s %s: Allow %q, want %s", tc.method, tc.path, a.header.Get("Allow"), tc.allow)
		}
	}
}

func TestBackendErrors(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   errcode.Code
	}{
		{errUnavailable, 503, errcode.Busy},
		{errStopped, 503, errcode.Busy},
		{fmt.Errorf("mempool: %w", errUnavailable), 503, errcode.Busy},
		{errors.New("boom"), 500, errcode.Internal},
	} {
		f := newFake()
		f.set(func(f *fake) { f.err = tc.err })
		srv := server(t, f, Options{})
		for _, path := range []string{"/v1/status", "/v1/blocks/1", "/v1/accounts/" + strings.Repeat("00", 20),
			"/v1/txs/" + strings.Repeat("00", 32), "/v1/mempool", "/v1/peers"} {
			wantError(t, get(t, srv, path), tc.status, tc.code)
		}
	}
}

// TestTimeout: a backend that never answers (it ignores its context, like a stuck actor) gets
// the client 503 busy once the deadline passes, and the node goes on answering.
func TestTimeout(t *testing.T) {
	f := newFake()
	hold := make(chan struct{})
	f.set(func(f *fake) { f.hold = hold })
	const timeout = 100 * time.Millisecond
	srv := server(t, f, Options{Timeout: timeout})
	t.Cleanup(func() { close(hold) }) // runs before srv.Close: releases the abandoned handlers
	// A client deadline well past the server's, so that a node that hangs fails the test.
	client := &http.Client{Transport: srv.Client().Transport, Timeout: timeout + 3*time.Second}

	for _, tc := range []struct{ method, path, body string }{
		{http.MethodGet, "/v1/status", ""},
		{http.MethodPost, "/v1/txs", exampleBody()},
		{http.MethodPost, "/v1/mining", `{"enabled":true}`},
	} {
		start := time.Now()
		a := doWith(t, client, srv, tc.method, tc.path, strings.NewReader(tc.body))
		elapsed := time.Since(start)
		wantError(t, a, 503, errcode.Busy)
		if elapsed < timeout || elapsed > timeout+2*time.Second {
			t.Errorf("%s %s answered after %v, want about %v", tc.method, tc.path, elapsed, timeout)
		}
	}
	// Endpoints that do not wait on the stuck backend still answer.
	if a := doWith(t, client, srv, http.MethodGet, "/v1/actors", nil); a.status != 200 {
		t.Errorf("actors while the backend is stuck: %d", a.status)
	}
}

// TestDeadlineReachesBackend: the backend's context carries the request deadline.
func TestDeadlineReachesBackend(t *testing.T) {
	const timeout = 100 * time.Millisecond
	b := &deadlineBackend{fake: newFake(), got: make(chan time.Duration, 1)}
	srv := serve(t, NewHandler(b, Options{Timeout: timeout}))
	wantError(t, get(t, srv, "/v1/status"), 503, errcode.Busy)
	if d := <-b.got; d <= 0 || d > timeout {
		t.Errorf("backend context deadline %v away, want within %v", d, timeout)
	}
}

// deadlineBackend reports how far its Status context's deadline is and waits for it.
type deadlineBackend struct {
	*fake
	got chan time.Duration
}

func (d *deadlineBackend) Status(ctx context.Context) (Status, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		d.got <- -1
		return Status{}, errors.New("no deadline")
	}
	d.got <- time.Until(dl)
	<-ctx.Done()
	return Status{}, ctx.Err()
}

func TestPanicRecovered(t *testing.T) {
	f := newFake()
	f.set(func(f *fake) { f.panicMsg = "invariant broken" })
	log, buf := verboseLogger()
	srv := server(t, f, Options{Logger: log})
	wantError(t, get(t, srv, "/v1/status"), 500, errcode.Internal)
	f.set(func(f *fake) { f.panicMsg = "" })
	if a := get(t, srv, "/v1/status"); a.status != 200 {
		t.Errorf("after a panic: %d %q", a.status, a.raw)
	}
	var found bool
	for _, r := range buf.MustRecords(t) {
		if r["level"] == "ERROR" && r["panic"] == "invariant broken" && r["path"] == "/v1/status" {
			found = true
		}
	}
	if !found {
		t.Errorf("no Error record of the panic: %v", buf.MustRecords(t))
	}
}

func TestRequestLog(t *testing.T) {
	log, buf := verboseLogger()
	srv := server(t, newFake(), Options{Logger: log})
	get(t, srv, "/v1/status")
	get(t, srv, "/v1/nope")
	post(t, srv, "/v1/txs", "{}")
	var got []string
	for _, r := range buf.MustRecords(t) {
		if r["msg"] != "http request" {
			continue
		}
		if r["level"] != "DEBUG" || r["duration"] == nil {
			t.Errorf("request record %v", r)
		}
		got = append(got, fmt.Sprintf("%v %v %v", r["method"], r["path"], r["status"]))
	}
	want := []string{"GET /v1/status 200", "GET /v1/nope 404", "POST /v1/txs 400"}
	if !slices.Equal(got, want) {
		t.Errorf("request records %q, want %q", got, want)
	}
}

func TestMetrics(t *testing.T) {
	srv := server(t, newFake(), Options{})
	a := get(t, srv, "/metrics")
	if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") ||
		string(a.raw) != "actorchain_chain_height 3\n" {
		t.Errorf("metrics: %d %q %q", a.status, a.header.Get("Content-Type"), a.raw)
	}
}

func TestPprof(t *testing.T) {
	off := server(t, newFake(), Options{})
	wantError(t, get(t, off, "/debug/pprof/"), 404, errcode.NotFound)
	on := server(t, newFake(), Options{Pprof: true})
	a := get(t, on, "/debug/pprof/")
	if a.status != 200 || !bytes.Contains(a.raw, []byte("goroutine")) {
		t.Errorf("pprof index: %d", a.status)
	}
	if a := get(t, on, "/debug/pprof/cmdline"); a.status != 200 {
		t.Errorf("pprof cmdline: %d", a.status)
	}
	if a := get(t, on, "/debug/pprof/goroutine"); a.status != 200 {
		t.Errorf("pprof goroutine: %d", a.status)
	}
	// pprof does not open other paths, and an unknown profile is the JSON 404 of an unknown path.
	wantError(t, get(t, on, "/v1/nope"), 404, errcode.NotFound)
	wantError(t, get(t, on, "/debug/pprof/nope"), 404, errcode.NotFound, "/debug/pprof/nope")
	wantError(t, get(t, on, "/debug/pprof/goroutine/x"), 404, errcode.NotFound)
}
