package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestTxSendReplaceByFee: `tx send --fee F --nonce K` sends exactly that fee and nonce; a
// fee_too_low answer is printed with the node's message (naming the minimum) and exits 1; and
// --wait on a transfer that gets replaced stops with an error naming the replacement instead of
// waiting for a confirmation that cannot come.
func TestTxSendReplaceByFee(t *testing.T) {
	const replacement = "7b5507c0d04dca32a44519e5ac18b4da57afece065d5da4f31565d398d1dcbdf"
	var mu sync.Mutex
	var sent []struct{ Fee, Nonce uint64 }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/status":
			_, _ = io.WriteString(w, `{"chain_id":"actorchain-devnet","height":1}`)
		case r.Method == http.MethodPost && r.URL.Path == "/v1/txs":
			var tx struct{ Fee, Nonce uint64 }
			_ = json.NewDecoder(r.Body).Decode(&tx)
			mu.Lock()
			sent = append(sent, tx)
			mu.Unlock()
			if tx.Fee < 22 {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":"transaction e213… with nonce 0 is pending for b205… with fee 20; a replacement needs a fee of at least 22 (10% more), got 21","code":"fee_too_low"}`)
				return
			}
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"hash":"`+strings.Repeat("ab", 32)+`"}`)
		case strings.HasPrefix(r.URL.Path, "/v1/txs/"):
			_, _ = io.WriteString(w, `{"hash":"`+strings.Repeat("ab", 32)+`","status":"replaced","height":0,"block_hash":"","replaced_by":"`+replacement+`"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":"no endpoint","code":"not_found"}`)
		}
	}))
	t.Cleanup(srv.Close)
	key, to := newKeyFile(t)
	send := []string{"tx", "send", "--api", srv.URL, "--key", key, "--to", to, "--amount", "1", "--nonce", "0"}

	r := cli(t, append(send, "--fee", "21")...)
	if r.code != exitFailure || !strings.Contains(r.err.String(), "at least 22") {
		t.Fatalf("fee 21: exit %d, stderr %q; want exit 1 naming the minimum 22", r.code, r.err.String())
	}
	r = cli(t, append(send, "--fee", "22", "--wait", "--wait-timeout", "5s")...)
	if r.code != exitFailure || !strings.Contains(r.err.String(), "replaced by "+replacement) {
		t.Fatalf("--wait on a replaced transfer: exit %d, stderr %q; want exit 1 naming the replacement", r.code, r.err.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sent) != 2 || sent[0].Fee != 21 || sent[1].Fee != 22 || sent[0].Nonce != 0 || sent[1].Nonce != 0 {
		t.Fatalf("the node got %+v; want fees 21 and 22, nonce 0", sent)
	}
}
