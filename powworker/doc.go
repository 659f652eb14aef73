// Package powworker is the proof-of-work nonce search: a pure, batch-based, cancellable loop over a
// fixed-layout work header. Search knows nothing about actors, clocks or blocks beyond the header
// layout; the miner actor (actors/) owns the goroutines, the template and the clock, and drives
// this package. [MineBlock] is the whole of mining outside any node (template, seal, search on the
// calling goroutine) for the chains `node bench` and internal/testchain build; the miner actor does
// not use it.
//
// # Work header
//
// The work header is the 80-byte preimage of a block hash (CONTRACT.md §6), integers big-endian:
//
//	offset  size  field
//	     0     4  version (u32)
//	     4    32  previous block hash
//	    36    32  commitment (height, bits, tx root, state root, miner key and the miner's signature)
//	    68     8  time in milliseconds since the Unix epoch (u64)   chainstate.WorkTimeOffset
//	    76     4  nonce (u32)                                       chainstate.WorkNonceOffset
//
// A block's hash is the double SHA-256 of these 80 bytes, and its work is met when that hash, read
// as a 256-bit big-endian number, is at most the block's target ([Target], [SearchTarget]): on a
// fixed-difficulty chain 2^(256-pow_bits) - 1, i.e. at least pow_bits leading zero bits ([Meets],
// [BitsTarget], [Search]); on an adjusting chain the compact target in the header's bits
// (CONTRACT §10). The search compares the hash's first 64-bit word with the target's and looks
// further only on a tie, so a 256-bit target costs no more per hash than counting zero bits. Only the time
// and the nonce change while mining, so the miner signs the commitment once per template and then
// patches those two fields with [SetTime] and [SetNonce].
//
// # Usage
//
// The miner splits the 2^32 nonce space among its W workers with [Split](W) and gives each worker
// one [Range]. Each worker calls [Search] on its own copy of the header with its range and a stop
// function (typically an atomic flag the miner sets when a new template arrives or the node shuts
// down):
//
//	ranges := powworker.Split(workers)
//	// in worker i's tracked goroutine:
//	res := powworker.SearchTarget(hdr, target, ranges[i], 0, stopped.Load)
//	switch {
//	case res.Found: // SetNonce(&hdr, res.Nonce); res.Hash is the block hash; report it
//	case res.Done:  // range exhausted: report it
//	default:        // stopped: report nothing, or the hash count only
//	}
//
// When every worker has exhausted its range for the current time, the miner rolls the time: it
// calls [SetTime] with a later timestamp (the current clock, or the old time + 1 ms if the clock has
// not moved; the time must still satisfy the chain's timestamp rules) and hands the same ranges out
// again. Because the time bytes lie inside the first hash's second block, rolling the time needs no
// new signature and no new commitment. A miner may also roll the time per worker as soon as that
// worker's range is done; the ranges stay disjoint within one timestamp either way.
//
// Search hashes the constant first 64 bytes of the header once per call and then only the last 16
// bytes per nonce (the SHA-256 midstate, restored through crypto/sha256's
// encoding.BinaryUnmarshaler), which saves one of the three SHA-256 compressions per nonce.
//
// # Concurrency
//
// None inside: the package starts no goroutines, reads no clock and holds no shared state, and every
// function is safe to call from any number of goroutines at once. Search blocks its caller until it
// finds a nonce, exhausts its range or is stopped; callers run it in their own goroutines (one per
// worker, each with its own header copy and range) and cancel it through stop, which Search polls
// before each batch.
package powworker
