// Package api is the node's HTTP API (CONTRACT §3, documented for users in docs/api.md): handlers
// that turn requests into calls on a Backend (the node's facade, *actors.Node, in the roles
// Reader, Submitter and Debugger) bounded by a deadline, the types of its answers, and a Client
// for the CLI and tests. The package imports nothing of the node's actors: the node imports it,
// builds the handler in its api actor and answers with these types, so a client links neither
// protoactor nor prometheus (imports_test.go in resilience_test keeps it so).
//
// # Usage
//
// The node's api actor serves
//
//	h := api.NewHandler(node, api.Options{Logger: log, Version: actors.Version, Pprof: cfg.Debug.Pprof})
//	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 64 << 10}
//	srv.Serve(api.Listener(ln)) // net/http's own error answers become JSON too
//
// and a command talks to a running node with
//
//	c := api.NewClient("http://127.0.0.1:8600", nil)
//	st, err := c.Status(ctx) // err is an *api.APIError when the node answered with an error
//
// # Answers
//
// Every answer is JSON except /metrics, /debug/pprof/, GET / (the dashboard page of package
// dashboard, mounted in the route table) and the database copy of GET /v1/db/backup (backup.go;
// served by a Backend that is also a BackupBackend). Every error is {"error", "code"} with a
// 4xx or 5xx status; the codes and their statuses are package errcode's one table, and a
// refinement of a code (bad_nonce's nonce_used or nonce_gap) is in an optional "detail" field. Routing (router.go): the route table in
// handler.go (routes) is a ServeMux of method patterns, one line per endpoint; the router in front of it
// matches paths exactly as sent (a path with an empty, "." or ".." segment is 404, never the
// mux's redirect), answers 404 not_found and 405 method_not_allowed itself, and answers every
// /v1/debug/ path as an unknown one while fault injection is off. The answers net/http writes
// before any handler runs (431, 400 for a request that is not HTTP, 417, 501, 505) are
// rewritten to JSON by the connections of Listener (listener.go).
// Request bodies are read whole up to Options.MaxBodyBytes (1 MiB; more is 413 body_too_large)
// and decoded strictly: exactly one JSON object, no unknown fields, every required field present,
// integers unsigned 64-bit; anything else is 400 malformed with a message naming the field.
// Transactions travel as Tx, whose ToChain and TxFromChain convert from and to chainstate.Tx.
//
// # Concurrency
//
// The handler is stateless and safe for concurrent use. Each request runs under
// http.TimeoutHandler with Options.Timeout (5 s): the handler runs in its own goroutine with a
// context carrying that deadline, which is passed to the backend, and writes into a buffer; if it
// has not finished by the deadline the client gets 503 busy, the context is cancelled and the
// late answer is discarded (TimeoutHandler guards the writer, so a late write never races). A
// backend call that ignores its context keeps that goroutine until it returns; the node's actors
// always answer or time out. POST /v1/txs, the hot path, runs on the connection's own goroutine
// instead (no goroutine and no buffer per request) under the same deadline and guarantee: a
// watchdog on the deadline answers busy (with Connection: close) if the handler has not begun
// its answer, an error written after the deadline is busy too, and the body read ends at the
// deadline. Handler panics are recovered into 500 internal and logged, so a bug in one request
// never takes the node down. The pprof endpoints and the
// database backup run outside the time limit, since they last as long as they must: the backup
// streams straight to the connection, each write bounded (10 s), and the node cancels it when its
// storage stops.
//
// NB: importing net/http/pprof registers its handlers on http.DefaultServeMux as a side effect;
// the node never serves DefaultServeMux, and this handler serves pprof only with Options.Pprof.
//
// # Logging
//
// One Debug record "http request" per request (method, path, status, duration); an Error record
// per recovered panic and per unexpected backend error (500); an Info record per fault injected.
package api
