// Package supervisor gives protoactor-go actors OTP-style supervision: child specs, start in spec
// order, stop in reverse order one child at a time with a deadline per child, restart types
// (Permanent, Transient, Temporary) with a restart intensity, replacement of killed children,
// the live supervision tree with restart counts (GET /v1/actors), the lifecycle log records, and
// fault injection (Crash, CrashActor, Kill). It knows nothing about blockchains and imports only
// protoactor and the standard library.
//
// The pieces:
//
//   - Window is the pure restart-window bookkeeping (no clock: the time is an argument).
//   - Budget combines a child's short intensity Window with an optional long restart budget
//     (Spec.Budget, e.g. 10 restarts in 5 minutes): a slow crash loop that the intensity never
//     sees is given up too. Group.GaveUp tells OnGiveUp which limit was exceeded.
//   - Tree is the live tree of one node, shared by all its groups; names are full paths from the
//     root ("storage", "miner/worker-0"), and counts survive restarts of the actor and its parent.
//   - Group supervises the children of one parent actor. The parent owns it and delegates to it.
//
// # Usage
//
// A parent actor builds its Group in its producer (a fresh one per instance), implements
// actor.SupervisorStrategy through it, lets it see every message first, and starts it in Started:
//
//	type miner struct{ group *supervisor.Group }
//
//	func newMiner(tree *supervisor.Tree, log *slog.Logger) actor.Actor {
//		return &miner{group: supervisor.NewGroup(supervisor.GroupOptions{
//			Tree: tree, Path: "miner", Logger: log,
//			Specs: []supervisor.Spec{
//				{Name: "worker-0", Producer: func() actor.Actor { return &worker{} }},
//			},
//			OnGiveUp: func(ctx actor.Context, name string, reason any) { /* stop mining */ },
//		})}
//	}
//
//	func (m *miner) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, child *actor.PID,
//		rs *actor.RestartStatistics, reason, msg any) {
//		m.group.HandleFailure(sys, sup, child, rs, reason, msg)
//	}
//
//	func (m *miner) Receive(ctx actor.Context) {
//		if m.group.Receive(ctx) {
//			return
//		}
//		switch ctx.Message().(type) {
//		case *actor.Started:
//			if err := m.group.Start(ctx); err != nil {
//				panic(err)
//			}
//		}
//	}
//
// The node root does the same with Path "" and stops the node with
// group.StopAll(ctx, func() { ctx.Stop(self) }). Debug endpoints call CrashActor and Kill with a
// full name. A root registers itself with Tree.SetRoot and writes its own "actor started" and
// "actor stopped" records.
//
// # Log records
//
// Every child of a group writes, through the group's receiver middleware and Logger:
//
//   - "actor started" (Info, actor) when it starts, before its Started handler runs;
//   - "actor restarted" (Info, actor, cause "panic" or "kill", restarts) instead, after a restart
//     or a replacement;
//   - "actor stopped" (Info, actor) after its Stopped handler, which protoactor delivers once its
//     Stopping handler returned and all its children terminated, so a parent's record follows
//     its children's and the records give the real stop order;
//   - "actor panicked" (Debug, actor, reason, message, stack) for every panic in its handlers.
//
// The group itself writes "actor crashed" (Warn, actor, reason, action restart|stop|give_up),
// "actor killed" (Warn, actor, action replace|give_up), "actor ended" (Debug: a Transient or
// Temporary child that stopped and is not replaced, action drop), "actor gave up" (Error, actor,
// limit intensity|budget, restarts, max_restarts, window), "actor stop timed out" (Error, actor,
// shutdown), "actor start timed out" (Warn, actor, timeout) and "actor stop handler panicked"
// (Error, actor, reason).
//
// # Concurrency
//
// A Group is not safe for concurrent use: all its methods run on the parent actor's goroutine,
// which protoactor guarantees for Receive and HandleFailure. A Tree is safe for concurrent use.
// The package starts no goroutines; the only timers are the stop deadlines of StopAll
// (time.AfterFunc, each stopped when its child terminates) and the timer bounding each wait of
// Start. Start blocks the parent until each child's Started handler returned, so a Started
// handler must never wait for its parent.
//
// A child's failure goes to its parent's HandleFailure. Permanent and Transient children are
// restarted in place (same PID, queued messages kept, the failing message lost) while their
// Intensity allows; a Temporary child is stopped. A Permanent child that terminates without its
// group having stopped it (a kill) is spawned again under the same name. Both count as a restart
// in the child's Budget and in the Tree (with its time: Tree.RestartTimes). Past the intensity
// or the budget the child is stopped and OnGiveUp tells the parent once it has terminated. A panic in a Stopping or Stopped handler is logged
// and swallowed, so that it cannot turn a stop into a restart.
//
// # Shutdown
//
// protoactor stops an actor's children concurrently. StopAll instead stops them in reverse start
// order, one at a time, waiting for each *actor.Terminated (protoactor sends it after the child's
// Stopped, so the child's goroutines are joined by then) or for its Spec.Shutdown deadline, and
// calls done when the last one is gone. A child that is itself a group parent is asked to stop
// its own children the same way before it stops, so the whole subtree stops in reverse start
// order. From the first StopAll on, and while the parent is stopping or restarting, the group
// never respawns or replaces anything; a parent that is stopped or restarted without StopAll
// gets protoactor's concurrent cascade. Stopped children stay in the Tree with state "stopped",
// except Temporary ones, which leave it.
package supervisor
