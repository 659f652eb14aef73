// Package chain is Actorchain's consensus state machine: the block index (every known header
// with its cumulative work and status), the main chain's tip, fork choice, the invalid set and the
// bounded orphan pool, in one plain value with no goroutines, no clock and no I/O of its own. It
// is shaped like etcd raft's Step/Ready/Advance: the caller hands it a block with its Source and
// the local time (Machine.Step) and gets a Decision back; a Decision either asks for one store
// write (connect, put a side-branch block, reorg, record an invalid block) or reports an outcome
// (connected, reorged, stored, duplicate, orphan, rejected). The caller performs the write and
// reports how it went (Machine.Advance with Done, AlreadyDone or Failed) and gets the next
// Decision, until None. The machine moves its tip only after the write that moves the store's
// tip is reported done, so the store is always ahead of, or equal to, the machine.
//
// # Rules
//
//   - A known block is a duplicate, or rejected with known_invalid when it is in the invalid set.
//   - A block whose parent is unknown is an orphan: it waits in the pool (the oldest is dropped
//     when full) and Decision.Parent names the missing ancestor to ask for. When a block is
//     accepted (connected, stored or reorged to), the orphans waiting for it are handled next, one
//     after the other (Decision.Released), and so on down their descendants.
//   - A child of an invalid block is invalid (known_invalid), with no write.
//   - Then Rules.CheckHeader (against the parent and the clock) and Rules.CheckBlock (stateless);
//     a block failing them is rejected but not remembered, since a block from the future may be
//     fine later.
//   - Fork choice: a block on the tip is connected; any other is stored on a side branch and, when
//     its branch has strictly more cumulative work (chainstate.MoreWork; a tie keeps the first
//     seen), the store reorganises to it in one write along chainstate.ForkPath. A branch through
//     an invalid block is refused before any write.
//   - A connect or reorg that fails with a rule error (a block that does not apply to the state)
//     puts the failing block and its known descendants in the invalid set and asks to record it
//     in the store; any other failure is the node's, reported as it is, and changes nothing.
//   - A write reported AlreadyDone (its reply was lost, but the store shows it committed) counts as
//     done.
//
// Difficulty lives in Rules (CheckHeader with HeaderContext.Ancestor, Work), so a per-height
// expected target changes the Rules value, not the machine: RulesFor gives ParamsRules for a
// fixed-difficulty chain and ScheduleRules for one that adjusts (ASERT anchored at block 1 of the
// block's own branch, the median time past of its last 11 blocks, work 2^256/(target+1)). Ancestor walks back to the main chain
// and then reads the store's main chain (Config.MainHash), so an anchor such as block 1 costs the
// distance to the main chain, not the chain's length.
//
// # Restart
//
// New takes the store's tip and a Load function that reads index entries from the store; entries
// are loaded when first looked at, so building a machine costs the same whatever the chain's
// length. What only the machine knows is lost on a restart and harmless to lose: the orphan pool
// (orphans are asked for again), the Source of stored blocks (reported as a peer's), and
// descendants of an invalid block that the store holds as side blocks (they are refused again
// when a branch through them is tried, since the store keeps the invalid status).
//
// The tests run scripts from testdata/*.txt (blocks in, decisions out) through a small
// interpreter with a fake store, and rapid properties over random block trees and arrival orders.
package chain
