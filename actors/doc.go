// Package actors is the node: thin protoactor-go actors around the pure packages, and the root
// that builds and stops the tree.
//
// # The tree
//
//	node (root; built by Start, owns the ordered stop)
//	├── storage      owns the chainstate.Store (the *bbolt.DB): every write, group-committed
//	├── consensus    runs blocks through chain.Machine and executes its writes and publications
//	├── mempool      pending transfers (txpool.Pool); durable before acknowledged
//	├── peers        the peer manager: listener, dials, addrbook.Book, relay, sync peer choice
//	│   └── peers/<id8>        one connection each: the wire protocol, blocksync.Sync
//	├── miner        templates from the tip and the mempool; seals; submits found blocks
//	│   └── miner/worker-<i>   one nonce search goroutine each (powworker)
//	└── api          owns the http.Server; serves api.NewHandler over the facade (facade.go)
//
// Start order is the order above; Stop runs the exact reverse one child at a time, each fully
// stopped (goroutines joined, sockets and files closed) before the next gets its stop, so storage
// closes bbolt last. Supervision (restart on panic, replace on kill, restart intensity) is the
// supervisor package's Group; a vital actor (storage, consensus, mempool, peers) that restarts too
// often, past the intensity (5 in 10 s) or past the restart budget (supervision.max_restarts in
// supervision.window), stops the node cleanly with one "node gave up" record (Err reports why,
// the CLI exits 1); a miner that does stops mining and the node stays up.
//
// # Health
//
// health.go computes GET /v1/health as a pure function (computeHealth) of the restart times in
// the supervision tree, the outcome of the storage commits (commitState, fed by the storage actor
// after every write) and the tree's state. While commits fail, the mempool refuses transfers
// (ErrStorageUnavailable), the miner idles its workers, and the storage actor probes the database
// with an empty commit every 0.5 s until one succeeds (storagehealth.go). The node's logger is
// wrapped by logthrottle, so repeated warnings of one kind are at most one record a second.
//
// # Data flow
//
// A transfer: the caller's goroutine checks it statelessly (chainstate.CheckTx: chain id, amounts,
// signature through the shared SigCache, in parallel across callers), the mempool checks it against
// the committed account and its queue (or lets it replace a pending one of its sender and nonce
// for a higher fee), and gathers it into the next group commit to the storage
// actor; the submitter is answered only after that commit (so an acknowledged transfer survives
// kill -9). A block: consensus hands it to the consensus state machine (package chain: index, fork
// choice, invalid set, orphans), which checks it statelessly and decides; consensus executes the
// decisions: the storage actor applies a block inside one
// bbolt write transaction (chainstate.Store.Connect) that validates the state transition and writes
// accounts, undo data, indexes, the tip and the mempool removals together. A heavier side chain is
// one Store.Reorg transaction: all of it or nothing. The mempool and the miner are told afterwards.
//
// # Requests
//
// Requests form an acyclic graph (miner → consensus → storage, miner → mempool, callers → any), so
// an actor may block on a reply from one further down without deadlock. Reads that need no actor
// (status, blocks, accounts, confirmed transactions) go straight to the published store: bbolt
// read transactions are concurrent and never wait behind a commit. Every wait is bounded.
//
// # A damaged database
//
// Start refuses a database that chainstate.Open finds damaged. Once the node is ready the storage
// actor walks every page of the store in the background, in short read transactions, holding
// writes meanwhile (at most 3 s), and joins the walk before it closes the store. Damage met by
// the walk or by any read or write (the store's SetOnDamage hook) stops the node in order with
// the *chainstate.DamageError as Err (damage.go), so a damaged file is not served and not written
// to; `node run` exits 1 naming it.
//
// # Fault injection
//
// With debug.fault_injection the node takes faults from its API (faults.go): a crash or kill of
// any actor (the supervisor package), failing storage commits (every write transaction of the
// storage actor rolls back with ErrInjectedStorageFault), a clock skew (the clock the miner and
// the future-drift rule read), and per-peer link filters that cut a link or delay and drop the
// messages sent over it. The fault state lives in the Node, so it survives restarts of the actors
// that apply it, and is gone with the Node. Each fault is a decorator wired only when
// debug.fault_injection is on, so a node without it runs none of their code: the storage
// actor's commit hook (Node.commitHook), a skewed Clock in front of Options.Clock (clock.go) and a
// faulty sender in front of each connection (links.go).
//
// # Dependencies
//
// No actor holds the *Node: each gets a small dependencies value built by the Node when it
// produces the actor (deps.go: storageDeps, consensusDeps, mempoolDeps, peersDeps, peerConnDeps,
// minerDeps, apiDeps) with the refs and functions it needs. The state that several parts read
// besides messages (the published store, the peer manager's status, the desired mining state,
// storage health, the replaced-transfer log) has one writer each; docs/architecture.md lists it.
// The rules live in pure packages (chain, blocksync, txpool, addrbook, chainstate); the actors
// route messages to them and perform their effects.
//
// # Time
//
// Time the node's logic depends on comes from one injected Clock (clock.go, Options.Clock).
//
// # Concurrency
//
// Node's methods are goroutine-safe. Several nodes may run in one process: each has its own actor
// system, store, metrics registry and logger, and PIDs are never shared between them.
package actors
