package supervisor

import (
	"errors"
	"fmt"
)

var (
	// ErrUnknownActor is returned when a name is not in the supervision tree.
	ErrUnknownActor = errors.New("supervisor: unknown actor")

	// ErrRootActor is returned when the root of the tree is asked to crash or be killed. It wraps
	// ErrUnknownActor, so callers that only tell "known" from "unknown" treat both alike.
	ErrRootActor = fmt.Errorf("%w: the root actor cannot be crashed or killed", ErrUnknownActor)

	// ErrNotRunning is returned when a name is in the tree but its actor is stopped. It wraps
	// ErrUnknownActor: there is nothing to crash or kill.
	ErrNotRunning = fmt.Errorf("%w: actor is not running", ErrUnknownActor)

	// ErrNoFaultInjection is returned by CrashActor when the actor's group was built without
	// GroupOptions.FaultInjection, so a Crash message would be ignored.
	ErrNoFaultInjection = errors.New("supervisor: fault injection is disabled for this actor")

	// ErrStopping is returned when a child is added to a group that is stopping (StopAll began, or
	// its parent is stopping or restarting).
	ErrStopping = errors.New("supervisor: group is stopping")

	// ErrStarted is returned when Start is called twice on one group.
	ErrStarted = errors.New("supervisor: group already started")

	// ErrDuplicateName is returned when a spec's name is already used by a live child of the group.
	ErrDuplicateName = errors.New("supervisor: duplicate child name")

	// ErrInvalidSpec is returned when a spec has no name, a name containing "/", the root's name,
	// or no producer.
	ErrInvalidSpec = errors.New("supervisor: invalid spec")
)
