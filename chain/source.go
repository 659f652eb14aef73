package chain

// Origin says where a block came from: this node's miner or the network.
type Origin uint8

const (
	// Peer is a block from the network (or handed in as if a peer had sent it).
	Peer Origin = iota
	// Mined is a block this node's miner found.
	Mined
)

// String is the origin as the `block connected` log record shows it: "mined" or "peer".
func (o Origin) String() string {
	if o == Mined {
		return "mined"
	}
	return "peer"
}

// Source is who handed the machine a block: its origin and, for a peer, the peer's id (so that
// a relay is not sent back to it). A block the machine loaded from the store after a restart has
// the zero Source (a peer, unknown).
type Source struct {
	Origin Origin
	Peer   string
}

// String is "mined", "peer" or "peer:<id>".
func (s Source) String() string {
	if s.Origin == Peer && s.Peer != "" {
		return "peer:" + s.Peer
	}
	return s.Origin.String()
}
