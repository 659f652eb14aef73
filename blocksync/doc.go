// Package blocksync is the block download of one peer connection as a pure state machine, and
// the rate-limited progress report of a whole sync. It starts no goroutine, owns no timer and
// reads no clock: the time of every step is an argument, and what the node already has is a
// predicate the caller passes in.
//
// A [Sync] belongs to one connection actor. The actor feeds it what the wire and consensus say
// (a sync was started, an inventory announcement, a block received, consensus's verdict on it,
// a notfound, a periodic tick) and performs the [Actions] it returns: send a getblocks with a
// fresh locator, send a getdata for the listed blocks, tell the peer manager the sync with this
// peer ended. The machine keeps the rules in one place:
//
//   - Locator rounds: a round starts with a getblocks; the peer answers with an inventory of the
//     main-chain blocks after our locator (at most 500). The blocks this node lacks are queued
//     (each hash once; the queue is bounded) and requested. When nothing is queued, requested or
//     being connected any more, the round is finished: the next round starts, or, when the answer
//     was empty (the peer has nothing after our locator), the sync with this peer is done.
//   - The window: at most Config.Window blocks are requested or handed to consensus and not yet
//     answered; the next ones are requested as answers come back (a pipeline).
//   - Dedup: a block is never requested while it is in flight or being connected, nor when the
//     node has it.
//   - Expiry: a request unanswered for Config.Timeout is forgotten and a new round asks again
//     (a lossy link drops whole messages; a peer may not answer); a sync that heard nothing at all
//     for that long starts a new round too.
//   - The orphan trigger: a block consensus could not connect for want of its parent starts a
//     round, whose answer leads up to it.
//
// [Progress] turns a stream of (time, height, target, syncing) observations, as the peer manager
// sees them, into at most one progress report every Every and one summary when a sync ends. The
// actors package writes them as the `sync progress` and `sync finished` log records (CONTRACT §11).
package blocksync
