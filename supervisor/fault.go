package supervisor

import "github.com/asynkron/protoactor-go/actor"

// Kill stops the live actor with the given full name abruptly (sys.Root.Stop: queued messages
// are dropped). It is not a failure: the actor's group sees it terminate on its own and replaces
// it if it is Permanent. It returns ErrRootActor for the root, ErrUnknownActor for a name not in
// the tree and ErrNotRunning for a stopped actor. It does not wait.
func Kill(sys *actor.ActorSystem, t *Tree, name string) error {
	pid, _, err := t.target(name)
	if err != nil {
		return err
	}
	sys.Root.Stop(pid)
	return nil
}

// CrashActor makes the live actor with the given full name panic with reason inside its own
// message handler (it sends a *Crash, handled in turn after what is already queued). It needs the
// actor's group to have been built with GroupOptions.FaultInjection (else ErrNoFaultInjection);
// other errors are those of Kill. It does not wait.
func CrashActor(sys *actor.ActorSystem, t *Tree, name string, reason string) error {
	pid, fault, err := t.target(name)
	if err != nil {
		return err
	}
	if !fault {
		return ErrNoFaultInjection
	}
	sys.Root.Send(pid, &Crash{Reason: reason})
	return nil
}
