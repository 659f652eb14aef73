package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/actorchain/actorchain/api"
)

// The load generator (`node tx send --count`) submits each transfer with its own POST /v1/txs, as
// any client does, but over one keep-alive HTTP/1.1 connection per worker that the worker
// writes and reads itself. net/http's client spends two goroutines per connection (a reader and
// a writer) and hands every request and answer between them and the caller: three goroutine
// switches and their futex wake-ups per transfer, which on a 2-core machine took CPU from the
// node being measured (docs/performance.md, "What a user sees"). The requests on the wire are
// the same.

// loadSubmitter submits one transfer and returns its hash; a worker's submitter is used by that
// worker alone.
type loadSubmitter func(ctx context.Context, tx api.Tx) (string, error)

// loadSubmitters returns one submitter per worker for c's node and a function that closes their
// connections. A node reached through a proxy (HTTP_PROXY and friends) or over anything but
// plain http gets c's own client, with its connections kept alive for every worker.
func loadSubmitters(c *api.Client, workers int) ([]loadSubmitter, func()) {
	subs := make([]loadSubmitter, workers)
	u, err := url.Parse(c.BaseURL())
	if err == nil && u.Scheme == "http" && u.User == nil && !proxied(u) {
		conns := make([]*loadConn, workers)
		for i := range subs {
			conns[i] = newLoadConn(u)
			subs[i] = conns[i].submit
		}
		return subs, func() {
			for _, lc := range conns {
				lc.close()
			}
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = workers
	lc := api.NewClient(c.BaseURL(), &http.Client{Transport: tr, Timeout: api.DefaultClientTimeout})
	for i := range subs {
		subs[i] = lc.SubmitTx
	}
	return subs, tr.CloseIdleConnections
}

// proxied reports whether the environment sends requests to u through a proxy.
func proxied(u *url.URL) bool {
	p, err := http.ProxyFromEnvironment(&http.Request{URL: u})
	return err != nil || p != nil
}

// loadConn is one worker's keep-alive connection to the node's API.
type loadConn struct {
	addr, host, path string
	conn             net.Conn
	br               *bufio.Reader
	req              []byte // the request being written (reused)
}

func newLoadConn(u *url.URL) *loadConn {
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &loadConn{addr: addr, host: u.Host, path: strings.TrimRight(u.EscapedPath(), "/") + "/v1/txs"}
}

func (c *loadConn) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn, c.br = nil, nil
	}
}

// submit POSTs tx to /v1/txs, dialling first when the worker has no open connection, and reads
// the answer: the hash of a 202, the node's error (*api.APIError) otherwise. Any failure to write
// or read closes the connection (the next submit dials again); the POST is not retried, since the
// node may have taken it. The request is bounded by ctx and by api.DefaultClientTimeout.
func (c *loadConn) submit(ctx context.Context, tx api.Tx) (string, error) {
	body, err := json.Marshal(tx)
	if err != nil {
		return "", fmt.Errorf("POST %s: encode request: %w", c.path, err)
	}
	deadline := time.Now().Add(api.DefaultClientTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if c.conn == nil {
		d := net.Dialer{Deadline: deadline}
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return "", err // a *net.OpError with Op "dial": no node answers (nodeError)
		}
		c.conn, c.br = conn, bufio.NewReader(conn)
	}
	conn := c.conn
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) }) // unblocks the round trip
	hash, err := c.roundTrip(deadline, body)
	stop()
	if ae, ok := err.(*api.APIError); ok {
		return "", ae // the node's answer, as api.Client returns it
	}
	if err != nil {
		c.close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return "", fmt.Errorf("POST http://%s%s: %w", c.host, c.path, err)
	}
	return hash, nil
}

func (c *loadConn) roundTrip(deadline time.Time, body []byte) (string, error) {
	if err := c.conn.SetDeadline(deadline); err != nil {
		return "", err
	}
	c.req = append(c.req[:0], "POST "...)
	c.req = append(c.req, c.path...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, c.host...)
	c.req = append(c.req, "\r\nUser-Agent: actorchain-node\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: "...)
	c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
	c.req = append(c.req, "\r\n\r\n"...)
	c.req = append(c.req, body...)
	if _, err := c.conn.Write(c.req); err != nil {
		return "", err
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return "", err
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	_ = res.Body.Close()
	if err != nil {
		return "", fmt.Errorf("read answer: %w", err)
	}
	if res.Close {
		defer c.close()
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return "", api.AnswerError(res.StatusCode, data)
	}
	var out struct {
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return "", fmt.Errorf("decode answer: %w", err)
	}
	return out.Hash, nil
}
