package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/actorchain/actorchain/errcode"
)

// Error codes are errcode's: one table of codes and their HTTP statuses for the whole node.
// Transaction rejections carry the mempool's code (one of errcode.TxCodes) and, for bad_nonce,
// a detail (errcode.NonceUsed or errcode.NonceGap).

// APIError is an error answer of the node, as the Client returns it: the HTTP status and the
// body's code and human-readable message.
type APIError struct {
	Status  int
	Code    errcode.Code
	Detail  errcode.Code // "" unless the node refines the code (bad_nonce: nonce_used or nonce_gap)
	Message string
}

// Error returns the node's human-readable message.
func (e *APIError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	if e.Code != "" {
		return string(e.Code)
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}

// errorBody is the JSON body of every error answer. Detail is present only when the node
// refines the code (docs/api.md).
type errorBody struct {
	Error  string       `json:"error"`
	Code   errcode.Code `json:"code"`
	Detail errcode.Code `json:"detail,omitempty"`
}

// errorJSON returns the encoded error body (with a trailing newline, like writeJSON).
func errorJSON(code errcode.Code, msg string) []byte { return detailJSON(code, "", msg) }

// detailJSON is errorJSON with a detail.
func detailJSON(code, detail errcode.Code, msg string) []byte {
	b, _ := json.Marshal(errorBody{Error: msg, Code: code, Detail: detail}) // strings always encode
	return append(b, '\n')
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a bug (an unencodable type) gets here.
		status, b = http.StatusInternalServerError, errorJSON(errcode.Internal, "encode answer: "+err.Error())
	} else {
		b = append(b, '\n')
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b) // a failed write means the client went away
}

// writeError answers the error body with the code's status.
func writeError(w http.ResponseWriter, code errcode.Code, msg string) {
	writeCoded(w, &errcode.Error{Code: code}, msg)
}

// writeCoded answers e's code and detail with msg, with the code's status.
func writeCoded(w http.ResponseWriter, e *errcode.Error, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Code.Status())
	_, _ = w.Write(detailJSON(e.Code, e.Detail, msg))
}

// classify maps a backend error to its code (and detail): the code an *errcode.Error carries, busy
// for a context that ended, else internal. internal is true for errors that are not the client's
// nor a passing condition (a bug or a storage failure): those are logged.
func classify(err error) (e *errcode.Error, internal bool) {
	if ce, ok := errcode.Of(err); ok && ce.Code.Known() {
		return ce, ce.Code == errcode.Internal
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return errcode.New(errcode.Busy, ""), false
	}
	return errcode.New(errcode.Internal, ""), true
}
