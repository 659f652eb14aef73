package api

import (
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/errcode"
)

// fail answers a backend error with its status and code; unexpected errors are logged.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	e, internal := classify(err)
	if internal {
		h.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeCoded(w, e, err.Error())
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	s, err := h.read.Status(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if s.TotalWork == nil {
		s.TotalWork = new(big.Int)
	}
	if s.Version == "" {
		s.Version = h.version
	}
	writeJSON(w, http.StatusOK, s)
}

// block serves GET /v1/blocks/{id}: id is a decimal height or a 64-hex block hash.
func (h *handler) block(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var (
		bi  BlockInfo
		err error
	)
	switch {
	case len(id) == 2*len(chainstate.Hash{}) && isHex(id):
		var hash chainstate.Hash
		_ = decodeHex("hash", id, hash[:]) // isHex and the length make it succeed
		bi, err = h.read.BlockByHash(r.Context(), hash)
	case id != "" && isDigits(id):
		height, perr := strconv.ParseUint(id, 10, 64)
		if perr != nil {
			writeError(w, errcode.Malformed, "block id: height out of range")
			return
		}
		bi, err = h.read.BlockAt(r.Context(), height)
	default:
		writeError(w, errcode.Malformed,
			fmt.Sprintf("block id: want a decimal height or a 64 hex character hash, got %q", clip(id)))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if bi.Block == nil {
		h.fail(w, r, errors.New("backend returned a block without a body"))
		return
	}
	writeJSON(w, http.StatusOK, blockFromInfo(bi))
}

func (h *handler) account(w http.ResponseWriter, r *http.Request) {
	var a chainstate.Address
	if err := decodeHex("address", r.PathValue("address"), a[:]); err != nil {
		writeError(w, errcode.Malformed, err.Error())
		return
	}
	info, err := h.read.Account(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// txRequest is the body of POST /v1/txs. Pointers tell a missing field from a zero one.
type txRequest struct {
	Hash      *string `json:"hash"`
	ChainID   *string `json:"chain_id"`
	From      *string `json:"from"`
	To        *string `json:"to"`
	Amount    *uint64 `json:"amount"`
	Fee       *uint64 `json:"fee"`
	Nonce     *uint64 `json:"nonce"`
	Signature *string `json:"signature"`
}

// form returns the Tx, or an error naming the first missing field.
func (q *txRequest) form() (Tx, error) {
	switch {
	case q.ChainID == nil:
		return Tx{}, missing("chain_id")
	case q.From == nil:
		return Tx{}, missing("from")
	case q.To == nil:
		return Tx{}, missing("to")
	case q.Amount == nil:
		return Tx{}, missing("amount")
	case q.Fee == nil:
		return Tx{}, missing("fee")
	case q.Nonce == nil:
		return Tx{}, missing("nonce")
	case q.Signature == nil:
		return Tx{}, missing("signature")
	}
	t := Tx{ChainID: *q.ChainID, From: *q.From, To: *q.To, Amount: *q.Amount, Fee: *q.Fee,
		Nonce: *q.Nonce, Signature: *q.Signature}
	if q.Hash != nil {
		t.Hash = *q.Hash
	}
	return t, nil
}

func missing(field string) error { return fmt.Errorf("%s: missing", field) }

func (h *handler) submitTx(w http.ResponseWriter, r *http.Request) {
	var q txRequest
	if !h.decodeBody(w, r, &q) {
		return
	}
	t, err := q.form()
	if err != nil {
		writeError(w, errcode.Malformed, err.Error())
		return
	}
	tx, err := t.ToChain()
	if err != nil {
		writeError(w, errcode.Malformed, err.Error())
		return
	}
	if want := h.read.Params().ChainID; tx.ChainID != want {
		writeError(w, errcode.WrongChain,
			fmt.Sprintf("chain_id: transaction is for chain %q, this node is on %q", clip(tx.ChainID), want))
		return
	}
	if t.Hash != "" {
		if got := tx.Hash(); !strings.EqualFold(t.Hash, got.String()) {
			writeError(w, errcode.Malformed,
				fmt.Sprintf("hash: %q does not match the transaction's hash %s", clip(t.Hash), got))
			return
		}
	}
	hash, err := h.submit.SubmitTx(r.Context(), tx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, Submitted{Hash: encodeHex(hash[:])})
}

func (h *handler) tx(w http.ResponseWriter, r *http.Request) {
	var hash chainstate.Hash
	if err := decodeHex("hash", r.PathValue("hash"), hash[:]); err != nil {
		writeError(w, errcode.Malformed, err.Error())
		return
	}
	info, err := h.read.Tx(r.Context(), hash)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := TxStatus{Hash: encodeHex(hash[:]), Status: TxPending}
	switch {
	case info.Confirmed:
		out.Status, out.Height, out.BlockHash = TxConfirmed, info.Height, encodeHex(info.BlockHash[:])
	case info.Replaced:
		out.Status, out.ReplacedBy = TxReplaced, encodeHex(info.ReplacedBy[:])
	}
	if info.Tx != nil {
		t := txFromChainNoHash(info.Tx)
		t.Hash = out.Hash // the backend found it under this hash
		out.Tx = &t
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) mempool(w http.ResponseWriter, r *http.Request) {
	hashes, err := h.read.Mempool(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := Mempool{Count: len(hashes), Txs: make([]string, len(hashes))}
	for i, hash := range hashes {
		out.Txs[i] = encodeHex(hash[:])
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) peers(w http.ResponseWriter, r *http.Request) {
	p, err := h.read.Peers(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p.Connected == nil {
		p.Connected = []PeerInfo{}
	}
	if p.Known == nil {
		p.Known = []KnownPeer{}
	}
	writeJSON(w, http.StatusOK, p)
}

// addPeerRequest is the body of POST /v1/peers.
type addPeerRequest struct {
	Addr *string `json:"addr"`
}

func (h *handler) addPeer(w http.ResponseWriter, r *http.Request) {
	var q addPeerRequest
	if !h.decodeBody(w, r, &q) {
		return
	}
	if q.Addr == nil {
		writeError(w, errcode.Malformed, missing("addr").Error())
		return
	}
	if err := ValidatePeerAddr(*q.Addr); err != nil {
		writeError(w, errcode.Malformed, err.Error())
		return
	}
	if err := h.submit.AddPeer(r.Context(), *q.Addr); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, Dialling{Addr: *q.Addr})
}

// exportPeers serves GET /v1/peers/bundle: the peer bundle of the node's address book.
func (h *handler) exportPeers(w http.ResponseWriter, r *http.Request) {
	b, err := h.read.ExportPeers(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// importPeers serves POST /v1/peers/bundle: merge a bundle into the address book and dial its
// peers. A bundle of another chain is 400 wrong_chain.
func (h *handler) importPeers(w http.ResponseWriter, r *http.Request) {
	var b Bundle
	if !h.decodeBundle(w, r, &b) { // up to a full book's bundle, not the 1 MiB of other bodies
		return
	}
	n, err := h.submit.ImportPeers(r.Context(), &b) // wrong_chain and malformed are coded errors
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, Added{Added: n})
}

// ValidatePeerAddr checks the form ID@HOST:PORT of a peer address: a 64 hex character node id,
// a non-empty host and a port from 1 to 65535. Errors start with "addr:".
func ValidatePeerAddr(s string) error {
	id, hostport, ok := strings.Cut(s, "@")
	if !ok {
		return fmt.Errorf("addr: want ID@HOST:PORT, got %q", clip(s))
	}
	var key [32]byte
	if err := decodeHex("addr: node id", id, key[:]); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("addr: %w", err)
	}
	if host == "" {
		return errors.New("addr: missing host")
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 || !isDigits(port) {
		return fmt.Errorf("addr: port: want 1 to 65535, got %q", clip(port))
	}
	return nil
}

// miningRequest is the body of POST /v1/mining.
type miningRequest struct {
	Enabled *bool `json:"enabled"`
}

func (h *handler) setMining(w http.ResponseWriter, r *http.Request) {
	var q miningRequest
	if !h.decodeBody(w, r, &q) {
		return
	}
	if q.Enabled == nil {
		writeError(w, errcode.Malformed, missing("enabled").Error())
		return
	}
	if err := h.submit.SetMining(r.Context(), *q.Enabled); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, Mining{Mining: *q.Enabled})
}

func (h *handler) actors(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.read.ActorTree().nonNil())
}

// faultHook serves POST /v1/debug/actors/{name}/{action}. The hooks exist only with
// debug.fault_injection; otherwise they answer 404 like an unknown path. The name is the path
// segment unescaped, so "miner%2Fworker-0" names "miner/worker-0".
func (h *handler) faultHook(action string, do func(name string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.debug.FaultInjection() {
			notFound(w, r)
			return
		}
		name := r.PathValue("name")
		if err := do(name); err != nil {
			e, internal := classify(err)
			if internal {
				h.log.Error("fault injection failed", "actor", name, "action", action, "err", err)
			}
			writeCoded(w, e, fmt.Sprintf("%s %q: %v", action, name, err))
			return
		}
		h.log.Info("fault injected", "actor", name, "action", action)
		writeJSON(w, http.StatusAccepted, Accepted{Actor: name, Action: action})
	}
}

// debugOnly guards a debug hook: without debug.fault_injection it answers 404 like an unknown
// path, as faultHook does.
func (h *handler) debugOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.debug.FaultInjection() {
			notFound(w, r)
			return
		}
		next(w, r)
	}
}

// storageFaultRequest is the body of POST /v1/debug/storage.
type storageFaultRequest struct {
	FailCommits *bool `json:"fail_commits"`
}

// storageFault serves POST /v1/debug/storage: make every storage commit fail, or stop doing so.
func (h *handler) storageFault(w http.ResponseWriter, r *http.Request) {
	var q storageFaultRequest
	if !h.decodeBody(w, r, &q) {
		return
	}
	if q.FailCommits == nil {
		writeError(w, errcode.Malformed, missing("fail_commits").Error())
		return
	}
	on, err := h.debug.SetStorageFault(r.Context(), *q.FailCommits)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("fault injected", "fault", "storage", "fail_commits", on)
	writeJSON(w, http.StatusOK, StorageFault{FailCommits: on})
}

// clockRequest is the body of POST /v1/debug/clock.
type clockRequest struct {
	SkewSeconds *int64 `json:"skew_seconds"`
}

// clockSkew serves POST /v1/debug/clock: run the node's clock skew_seconds ahead (or behind).
func (h *handler) clockSkew(w http.ResponseWriter, r *http.Request) {
	var q clockRequest
	if !h.decodeBody(w, r, &q) {
		return
	}
	if q.SkewSeconds == nil {
		writeError(w, errcode.Malformed, missing("skew_seconds").Error())
		return
	}
	skew, err := h.debug.SetClockSkew(r.Context(), *q.SkewSeconds)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("fault injected", "fault", "clock", "skew_seconds", skew)
	writeJSON(w, http.StatusOK, ClockSkew{SkewSeconds: skew})
}

// linkRequest is the body of POST /v1/debug/links; peer is required, the rest default to zero.
type linkRequest struct {
	Peer    *string  `json:"peer"`
	Cut     *bool    `json:"cut"`
	DelayMs *int     `json:"delay_ms"`
	Loss    *float64 `json:"loss"`
}

// setLink serves POST /v1/debug/links: set or remove the filter of the link to one peer.
func (h *handler) setLink(w http.ResponseWriter, r *http.Request) {
	var q linkRequest
	if !h.decodeBody(w, r, &q) {
		return
	}
	if q.Peer == nil {
		writeError(w, errcode.Malformed, missing("peer").Error())
		return
	}
	f := LinkFilter{Peer: *q.Peer}
	if q.Cut != nil {
		f.Cut = *q.Cut
	}
	if q.DelayMs != nil {
		f.DelayMs = *q.DelayMs
	}
	if q.Loss != nil {
		f.Loss = *q.Loss
	}
	if err := f.Validate(); err != nil {
		writeError(w, errcode.Malformed, err.Error())
		return
	}
	list, err := h.debug.SetLink(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("fault injected", "fault", "link", "peer_id", f.Peer, "cut", f.Cut, "delay_ms", f.DelayMs, "loss", f.Loss)
	writeLinks(w, list)
}

// links serves GET /v1/debug/links.
func (h *handler) links(w http.ResponseWriter, r *http.Request) {
	list, err := h.debug.Links(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeLinks(w, list)
}

// clearLinks serves DELETE /v1/debug/links: remove every link filter.
func (h *handler) clearLinks(w http.ResponseWriter, r *http.Request) {
	list, err := h.debug.ClearLinks(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("fault injected", "fault", "links_cleared")
	writeLinks(w, list)
}

func writeLinks(w http.ResponseWriter, list []LinkFilter) {
	if list == nil {
		list = []LinkFilter{}
	}
	writeJSON(w, http.StatusOK, list)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// clip shortens s for an error message, so a huge input is not echoed back whole.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
