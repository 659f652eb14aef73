package api

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/actorchain/actorchain/errcode"
)

// Listener wraps the API's listener so that the answers net/http's server writes by itself are
// §3 JSON errors too. Those answers are written before any handler runs, straight to the
// connection, as plain text, and http.Server has no hook to change them:
//
//   - 431 when the request line and headers exceed http.Server.MaxHeaderBytes;
//   - 400 for a request that is not valid HTTP/1.1 (a negative or unparsable Content-Length, a
//     bad request line, header field or Host), with net/http's reason when it gives one;
//   - 501 for a transfer encoding it does not implement, 505 for an HTTP version it does not
//     speak;
//   - 417 for an Expect header other than 100-continue.
//
// The connections it accepts recognise such an answer in the single Write that net/http makes
// of it (the status line followed by exactly net/http's error headers, "Content-Type:
// text/plain; charset=utf-8" and "Connection: close"; or the empty 417) and write the JSON
// error of the same status instead: Content-Type application/json, Content-Length, Connection:
// close, and {"error", "code"} with code header_too_large, malformed, not_implemented,
// http_version_not_supported or expectation_failed. Every other write passes unchanged: an
// answer of a handler always carries a Date header, which these never do.
//
// NewHandler's handler offers Listener as its WrapListener method, which the node's api actor
// applies to its listener.
func Listener(ln net.Listener) net.Listener { return jsonErrorListener{ln} }

type jsonErrorListener struct{ net.Listener }

func (l jsonErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrorConn{Conn: c}, nil
}

// jsonErrorConn rewrites net/http's own error answers (see Listener).
type jsonErrorConn struct{ net.Conn }

func (c *jsonErrorConn) Write(b []byte) (int, error) {
	out, ok := rewriteServerError(b)
	if !ok {
		return c.Conn.Write(b)
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// CloseWrite lets net/http half-close the connection after a 431 (it sends the FIN and waits a
// moment before closing, so that a client still sending its headers reads the answer rather
// than a reset).
func (c *jsonErrorConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// plainErrorHeaders are the header lines of net/http's own error answers (server.go).
const plainErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// expectationFailed is the status line net/http writes for an unsupported Expect header.
const expectationFailed = "HTTP/1.1 417 Expectation Failed\r\n"

// rewriteServerError returns the JSON answer that replaces b when b is one of net/http's own
// error answers, else false.
func rewriteServerError(b []byte) ([]byte, bool) {
	const proto = "HTTP/1.1 "
	if !bytes.HasPrefix(b, []byte(proto)) || len(b) < len(proto)+3 {
		return nil, false
	}
	status, err := strconv.Atoi(string(b[len(proto) : len(proto)+3]))
	if err != nil || status < 400 || status > 599 {
		return nil, false
	}
	if bytes.HasPrefix(b, []byte(expectationFailed)) {
		// An empty answer written through the response writer: Connection: close, Date and
		// Content-Length: 0.
		if !bytes.HasSuffix(b, []byte("\r\n\r\n")) || !bytes.Contains(b, []byte("\r\nContent-Length: 0\r\n")) {
			return nil, false
		}
		return jsonAnswer(status, errcode.ExpectationFailed,
			"the Expect header asks for something other than 100-continue, which this node does not do"), true
	}
	line, text, ok := bytes.Cut(b, []byte(plainErrorHeaders))
	if !ok || bytes.Contains(line, []byte("\r\n")) {
		return nil, false
	}
	// text is "431 Request Header Fields Too Large", "400 Bad Request", "400 Bad Request: REASON"
	// or, for 501, "Unsupported transfer encoding".
	reason := ""
	if _, r, ok := bytes.Cut(text, []byte(": ")); ok {
		reason = string(r)
	}
	var (
		code errcode.Code
		msg  string
	)
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		code, msg = errcode.HeaderTooLarge, "the request line and header fields are larger than this node accepts"
	case http.StatusNotImplemented:
		code, msg = errcode.NotImplemented, "the request's Transfer-Encoding is not supported (only chunked is)"
	case http.StatusHTTPVersionNotSupported:
		code, msg = errcode.HTTPVersion, "the request's HTTP version is not supported (use HTTP/1.1 or HTTP/1.0)"
	default:
		code = errcode.Malformed
		if reason != "" {
			msg = "malformed HTTP request: " + reason
		} else {
			msg = "malformed HTTP request: the request line or a header field (Content-Length, say) is not valid HTTP/1.1"
		}
	}
	return jsonAnswer(status, code, msg), true
}

// jsonAnswer is a complete HTTP/1.1 answer carrying the JSON error body, closing the connection.
func jsonAnswer(status int, code errcode.Code, msg string) []byte {
	body := errorJSON(code, msg)
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		status, http.StatusText(status), len(body))
	return append([]byte(head), body...)
}
