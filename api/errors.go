package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/supervisor"
)

// Error codes of the {"error", "code"} body. Transaction rejections carry the mempool's code
// (actors.TxRejected.Code), one of the Code* values from CodeMalformed to CodeFeeTooLow.
const (
	CodeNotFound          = "not_found"          // 404: unknown block, transaction or path
	CodeMethodNotAllowed  = "method_not_allowed" // 405: the path exists, the method does not
	CodeMalformed         = "malformed"          // 400: the request does not parse or a field is invalid
	CodeBadSignature      = "bad_signature"      // 400
	CodeBadNonce          = "bad_nonce"          // 400
	CodeInsufficientFunds = "insufficient_funds" // 400
	CodeWrongChain        = "wrong_chain"        // 400: a transaction (or bundle) of another chain
	CodeDuplicate         = "duplicate"          // 400: the transaction is already known
	CodeMempoolFull       = "mempool_full"       // 400
	CodeFeeTooLow         = "fee_too_low"        // 400: a replace-by-fee under the bump; the message names the minimum fee
	CodeUnknownActor      = "unknown_actor"      // 404: a debug hook named an actor not in the tree
	CodeOutOfRange        = "out_of_range"       // 400: a debug hook's value is beyond what the node allows
	CodeBodyTooLarge      = "body_too_large"     // 413: the body is over MaxBodyBytes
	CodeBusy              = "busy"               // 503: the node did not answer in time; retry
	CodeInternal          = "internal"           // 500: a bug; the node's log has the details
)

// APIError is an error answer of the node, as the Client returns it: the HTTP status and the
// body's code and human-readable message.
type APIError struct {
	Status  int
	Code    string
	Message string
}

// Error returns the node's human-readable message.
func (e *APIError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	if e.Code != "" {
		return e.Code
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// errorJSON returns the encoded error body (with a trailing newline, like writeJSON).
func errorJSON(code, msg string) []byte {
	b, _ := json.Marshal(errorBody{Error: msg, Code: code}) // strings always encode
	return append(b, '\n')
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a bug (an unencodable type) gets here.
		status, b = http.StatusInternalServerError, errorJSON(CodeInternal, "encode answer: "+err.Error())
	} else {
		b = append(b, '\n')
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b) // a failed write means the client went away
}

// writeError answers status with the error body.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorJSON(code, msg))
}

// classify maps a backend error to the answer's status and code. internal is true for errors
// that are not the client's nor a passing condition (a bug or a storage failure): those are
// logged.
func classify(err error) (status int, code string, internal bool) {
	var rej *actors.TxRejected
	switch {
	case errors.As(err, &rej):
		if rej.Code == "" {
			return http.StatusBadRequest, CodeMalformed, false
		}
		return http.StatusBadRequest, rej.Code, false
	case errors.Is(err, actors.ErrOutOfRange):
		return http.StatusBadRequest, CodeOutOfRange, false
	case errors.Is(err, supervisor.ErrUnknownActor):
		return http.StatusNotFound, CodeUnknownActor, false
	case errors.Is(err, actors.ErrNotFound), errors.Is(err, supervisor.ErrNoFaultInjection):
		return http.StatusNotFound, CodeNotFound, false
	case errors.Is(err, actors.ErrStorageUnavailable):
		return http.StatusServiceUnavailable, CodeStorageUnavailable, false
	case errors.Is(err, actors.ErrUnavailable), errors.Is(err, actors.ErrStopped),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, CodeBusy, false
	default:
		return http.StatusInternalServerError, CodeInternal, true
	}
}
