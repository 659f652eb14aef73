// Package errcode is the node's one table of error codes: the snake_case codes of the API's
// {"error", "code"} answers (CONTRACT §3), each mapped to its HTTP status once, and Error, the
// error value that carries a code from where it arises (the mempool's checks, the node's facade)
// to the API, which only looks the status up. It imports nothing of the project, so every layer
// may use it: chainstate names its rule codes with it, actors rejects with it, api answers with
// it, chaos and other clients match on it.
package errcode

import (
	"errors"
	"net/http"
)

// Code is a snake_case error code of the API's error body.
type Code string

// The codes, with the HTTP status each one answers.
const (
	NotFound           Code = "not_found"           // 404: unknown block, transaction or path
	MethodNotAllowed   Code = "method_not_allowed"  // 405: the path exists, the method does not
	Malformed          Code = "malformed"           // 400: the request does not parse or a field is invalid
	BadSignature       Code = "bad_signature"       // 400
	BadNonce           Code = "bad_nonce"           // 400: Detail is NonceUsed or NonceGap
	InsufficientFunds  Code = "insufficient_funds"  // 400
	WrongChain         Code = "wrong_chain"         // 400: a transaction (or bundle) of another chain
	Duplicate          Code = "duplicate"           // 400: the transaction is already known
	MempoolFull        Code = "mempool_full"        // 400
	FeeTooLow          Code = "fee_too_low"         // 400: a replace-by-fee under the bump; the message names the minimum fee
	UnknownActor       Code = "unknown_actor"       // 404: a debug hook named an actor not in the tree
	OutOfRange         Code = "out_of_range"        // 400: a debug hook's value is beyond what the node allows
	BodyTooLarge       Code = "body_too_large"      // 413: the body is over the API's bound
	Busy               Code = "busy"                // 503: the node did not answer in time; retry
	StorageUnavailable Code = "storage_unavailable" // 503: storage commits fail (CONTRACT §9); retry later
	Internal           Code = "internal"            // 500: a bug; the node's log has the details

	// The answers net/http writes by itself, which the API's listener turns into JSON.
	HeaderTooLarge    Code = "header_too_large"           // 431
	ExpectationFailed Code = "expectation_failed"         // 417
	NotImplemented    Code = "not_implemented"            // 501
	HTTPVersion       Code = "http_version_not_supported" // 505
)

// The details of BadNonce (the "detail" field of the error body). The code stays bad_nonce, the
// CONTRACT's code, so that clients that know only it keep working; the detail tells why.
const (
	NonceUsed Code = "nonce_used" // the nonce is below the account's nonce: a transaction with it is confirmed
	NonceGap  Code = "nonce_gap"  // the nonce is too far ahead of the next pending nonce
)

// statuses is the table: every code and the HTTP status it answers.
var statuses = map[Code]int{
	NotFound:           http.StatusNotFound,
	MethodNotAllowed:   http.StatusMethodNotAllowed,
	Malformed:          http.StatusBadRequest,
	BadSignature:       http.StatusBadRequest,
	BadNonce:           http.StatusBadRequest,
	InsufficientFunds:  http.StatusBadRequest,
	WrongChain:         http.StatusBadRequest,
	Duplicate:          http.StatusBadRequest,
	MempoolFull:        http.StatusBadRequest,
	FeeTooLow:          http.StatusBadRequest,
	UnknownActor:       http.StatusNotFound,
	OutOfRange:         http.StatusBadRequest,
	BodyTooLarge:       http.StatusRequestEntityTooLarge,
	Busy:               http.StatusServiceUnavailable,
	StorageUnavailable: http.StatusServiceUnavailable,
	Internal:           http.StatusInternalServerError,
	HeaderTooLarge:     http.StatusRequestHeaderFieldsTooLarge,
	ExpectationFailed:  http.StatusExpectationFailed,
	NotImplemented:     http.StatusNotImplemented,
	HTTPVersion:        http.StatusHTTPVersionNotSupported,
}

// Status is the HTTP status the code answers; 500 for a code not in the table.
func (c Code) Status() int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Known reports whether c is in the table.
func (c Code) Known() bool { _, ok := statuses[c]; return ok }

// TxCodes are the codes a rejected transaction carries (CONTRACT §3's list and fee_too_low).
var TxCodes = []Code{BadSignature, BadNonce, InsufficientFunds, WrongChain, Malformed, Duplicate, MempoolFull, FeeTooLow}

// Error is an error with a code: the node's answer to a request it refuses or cannot serve now.
// Reason is the human-readable message; Detail refines the code (NonceUsed or NonceGap for
// BadNonce, else ""); Err, when set, is a cause that errors.Is and errors.As see through it.
type Error struct {
	Code   Code
	Detail Code
	Reason string
	Err    error
}

// New returns an Error of code with the message reason.
func New(code Code, reason string) *Error { return &Error{Code: code, Reason: reason} }

// Error returns the reason (the code when there is none).
func (e *Error) Error() string {
	if e.Reason != "" {
		return e.Reason
	}
	return string(e.Code)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Of returns the outermost *Error in err's chain.
func Of(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
