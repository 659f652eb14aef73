package supervisor

import (
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Restart says when a child is restarted or replaced (OTP restart types).
type Restart int

const (
	// Permanent children are restarted after a panic and replaced (spawned again under the same
	// name) when they terminate without their group having stopped them, e.g. when killed.
	Permanent Restart = iota
	// Transient children are restarted after a panic but not replaced when they stop.
	Transient
	// Temporary children are never restarted or replaced: after a panic they are stopped, and when
	// they end they leave the tree (e.g. a peer connection).
	Temporary
)

// String returns "permanent", "transient" or "temporary".
func (r Restart) String() string {
	switch r {
	case Permanent:
		return "permanent"
	case Transient:
		return "transient"
	case Temporary:
		return "temporary"
	}
	return fmt.Sprintf("Restart(%d)", int(r))
}

// Default deadlines of a Spec whose field is zero.
const (
	DefaultShutdown     = 5 * time.Second
	DefaultStartTimeout = 10 * time.Second
)

// Spec is an OTP child spec: how one child of a Group is built, restarted and stopped.
type Spec struct {
	// Name is unique among the group's live children and is the protoactor child name, so the
	// child's full name in the Tree is the group's Path + "/" + Name ("miner/worker-0"). It must
	// not contain "/".
	Name string
	// Producer returns a fresh actor instance on every call (protoactor calls it again on each
	// restart; returning a shared pointer would keep the crashed state).
	Producer actor.Producer
	// Restart is the restart type; the zero value is Permanent.
	Restart Restart
	// Shutdown bounds the child's ordered stop in StopAll: after it the group logs an error and
	// moves on to the next child. Zero means DefaultShutdown; negative waits without a deadline.
	Shutdown time.Duration
	// StartTimeout bounds how long Group.Start waits for this child's Started handler before it
	// logs a warning and spawns the next child. Zero means DefaultStartTimeout; negative waits
	// without a deadline.
	StartTimeout time.Duration
	// Intensity is the short restart window; the zero value means DefaultIntensity.
	Intensity Intensity
	// Budget is an optional long restart budget besides Intensity (see Budget): more than
	// Budget.MaxRestarts restarts within Budget.Window give the child up too, however slowly
	// they came. The zero value means none.
	Budget Intensity
	// Options are extra protoactor props options (a mailbox, more middleware), applied after the
	// group's own receiver middleware, which is therefore the outermost. Do not pass
	// actor.WithGuardian (protoactor panics on it for children).
	Options []actor.PropsOption
}

func (s Spec) withDefaults() Spec {
	if s.Shutdown == 0 {
		s.Shutdown = DefaultShutdown
	}
	if s.StartTimeout == 0 {
		s.StartTimeout = DefaultStartTimeout
	}
	if s.Intensity == (Intensity{}) {
		s.Intensity = DefaultIntensity
	}
	return s
}

func (s Spec) validate() error {
	switch {
	case s.Name == "":
		return fmt.Errorf("%w: empty name", ErrInvalidSpec)
	case strings.Contains(s.Name, "/"):
		return fmt.Errorf("%w: name %q contains /", ErrInvalidSpec, s.Name)
	case s.Producer == nil:
		return fmt.Errorf("%w: %q has no producer", ErrInvalidSpec, s.Name)
	case s.Restart < Permanent || s.Restart > Temporary:
		return fmt.Errorf("%w: %q has restart type %v", ErrInvalidSpec, s.Name, s.Restart)
	}
	return nil
}

// fullName joins a group path and a child name.
func fullName(path, name string) string {
	if path == "" {
		return name
	}
	return path + "/" + name
}
