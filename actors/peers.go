package actors

import "github.com/asynkron/protoactor-go/actor"

// peersActor holds the peer manager's place in the tree (start order: after the mempool, before
// the miner). Networking fills it: the listener, the dialer, the address book and one child per
// connection. Until then it owns nothing.
type peersActor struct {
	n *Node
}

func (p *peersActor) Receive(ctx actor.Context) {}
