package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultClientTimeout bounds each request of a Client built with a nil *http.Client.
const DefaultClientTimeout = 30 * time.Second

// maxAnswerBytes bounds how much of an answer the Client reads.
const maxAnswerBytes = 64 << 20

// Client calls a node's HTTP API. Errors the node answers come back as *APIError (its Error is
// the node's message); transport and decoding failures are plain errors. A Client is safe for
// concurrent use; it owns no goroutines and needs no Close.
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client of the node at baseURL ("http://127.0.0.1:8600"; a trailing slash
// is ignored). httpClient nil means a client with DefaultClientTimeout. Every method also obeys
// its ctx.
func NewClient(baseURL string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: DefaultClientTimeout}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: httpClient}
}

// BaseURL returns the node's URL as given to NewClient, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// Status returns GET /v1/status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
}

// Block returns GET /v1/blocks/{id}; id is a decimal height or a block hash in hex.
func (c *Client) Block(ctx context.Context, id string) (Block, error) {
	var b Block
	return b, c.do(ctx, http.MethodGet, "/v1/blocks/"+url.PathEscape(id), nil, &b)
}

// Account returns GET /v1/accounts/{addr}.
func (c *Client) Account(ctx context.Context, addr string) (AccountInfo, error) {
	var a AccountInfo
	return a, c.do(ctx, http.MethodGet, "/v1/accounts/"+url.PathEscape(addr), nil, &a)
}

// SubmitTx posts a signed transaction (POST /v1/txs) and returns its hash once the node has
// stored it durably.
func (c *Client) SubmitTx(ctx context.Context, tx Tx) (string, error) {
	var s Submitted
	return s.Hash, c.do(ctx, http.MethodPost, "/v1/txs", tx, &s)
}

// Tx returns GET /v1/txs/{hash}.
func (c *Client) Tx(ctx context.Context, hash string) (TxStatus, error) {
	var t TxStatus
	return t, c.do(ctx, http.MethodGet, "/v1/txs/"+url.PathEscape(hash), nil, &t)
}

// Mempool returns GET /v1/mempool.
func (c *Client) Mempool(ctx context.Context) (Mempool, error) {
	var m Mempool
	return m, c.do(ctx, http.MethodGet, "/v1/mempool", nil, &m)
}

// Peers returns GET /v1/peers.
func (c *Client) Peers(ctx context.Context) (PeersInfo, error) {
	var p PeersInfo
	return p, c.do(ctx, http.MethodGet, "/v1/peers", nil, &p)
}

// AddPeer asks the node to dial addr (ID@HOST:PORT) now (POST /v1/peers).
func (c *Client) AddPeer(ctx context.Context, addr string) error {
	return c.do(ctx, http.MethodPost, "/v1/peers", map[string]string{"addr": addr}, nil)
}

// ExportPeers returns the node's peer bundle (GET /v1/peers/bundle) as raw JSON.
func (c *Client) ExportPeers(ctx context.Context) (json.RawMessage, error) {
	var b json.RawMessage
	return b, c.do(ctx, http.MethodGet, "/v1/peers/bundle", nil, &b)
}

// ImportPeers merges a peer bundle into the node's store (POST /v1/peers/bundle) and returns how
// many peers were added.
func (c *Client) ImportPeers(ctx context.Context, bundle json.RawMessage) (int, error) {
	var a Added
	return a.Added, c.do(ctx, http.MethodPost, "/v1/peers/bundle", bundle, &a)
}

// SetMining starts or stops the node's miners (POST /v1/mining) and returns the new state. After
// a stop returns, the node connects no block of its own mining.
func (c *Client) SetMining(ctx context.Context, enabled bool) (bool, error) {
	var m Mining
	return m.Mining, c.do(ctx, http.MethodPost, "/v1/mining", miningBody{Enabled: enabled}, &m)
}

type miningBody struct {
	Enabled bool `json:"enabled"`
}

// Actors returns the supervision tree (GET /v1/actors).
func (c *Client) Actors(ctx context.Context) (ActorNode, error) {
	var n ActorNode
	return n, c.do(ctx, http.MethodGet, "/v1/actors", nil, &n)
}

// Crash makes the named actor ("miner/worker-0") panic in its own handler
// (POST /v1/debug/actors/{name}/crash; needs debug.fault_injection on the node).
func (c *Client) Crash(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, "/v1/debug/actors/"+url.PathEscape(name)+"/crash", nil, nil)
}

// Kill stops the named actor abruptly; its parent replaces it
// (POST /v1/debug/actors/{name}/kill; needs debug.fault_injection on the node).
func (c *Client) Kill(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, "/v1/debug/actors/"+url.PathEscape(name)+"/kill", nil, nil)
}

// DebugStorageFault makes every storage commit of the node fail (true) or lets them commit again
// (false) (POST /v1/debug/storage; needs debug.fault_injection) and returns the state set.
func (c *Client) DebugStorageFault(ctx context.Context, fail bool) (bool, error) {
	var s StorageFault
	return s.FailCommits, c.do(ctx, http.MethodPost, "/v1/debug/storage", StorageFault{FailCommits: fail}, &s)
}

// DebugClockSkew runs the node's clock skewSeconds ahead of real time, behind when negative
// (POST /v1/debug/clock; needs debug.fault_injection) and returns the skew set. A skew beyond the
// chain's future drift is a 400 out_of_range *APIError.
func (c *Client) DebugClockSkew(ctx context.Context, skewSeconds int64) (int64, error) {
	var s ClockSkew
	return s.SkewSeconds, c.do(ctx, http.MethodPost, "/v1/debug/clock", ClockSkew{SkewSeconds: skewSeconds}, &s)
}

// DebugSetLink sets the filter of the node's link to f.Peer (cut, delay, loss), or removes it
// when all three are zero (POST /v1/debug/links; needs debug.fault_injection), and returns every
// filter.
func (c *Client) DebugSetLink(ctx context.Context, f LinkFilter) ([]LinkFilter, error) {
	var l []LinkFilter
	return l, c.do(ctx, http.MethodPost, "/v1/debug/links", f, &l)
}

// DebugLinks returns the node's link filters (GET /v1/debug/links).
func (c *Client) DebugLinks(ctx context.Context) ([]LinkFilter, error) {
	var l []LinkFilter
	return l, c.do(ctx, http.MethodGet, "/v1/debug/links", nil, &l)
}

// DebugClearLinks removes every link filter of the node (DELETE /v1/debug/links).
func (c *Client) DebugClearLinks(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "/v1/debug/links", nil, nil)
}

// do sends one request. in, when not nil, is the JSON body (a json.RawMessage is sent as is);
// out, when not nil, receives the JSON answer of a 2xx status. Any other status is an *APIError.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.hc.Do(req)
	if err != nil {
		return err // already names the method and URL
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxAnswerBytes))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return answerError(res.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// answerError builds the *APIError of a non-2xx answer; a body that is not the JSON error body
// (a proxy's page, say) becomes the message, shortened.
func answerError(status int, data []byte) *APIError {
	var e errorBody
	if err := json.Unmarshal(data, &e); err == nil && (e.Error != "" || e.Code != "") {
		return &APIError{Status: status, Code: e.Code, Detail: e.Detail, Message: e.Error}
	}
	msg := strings.TrimSpace(string(data))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &APIError{Status: status, Message: fmt.Sprintf("HTTP %d: %s", status, msg)}
}
