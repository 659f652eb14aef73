package localnet

// Home is one node home made for a run: where it is, its node id and its addresses.
type Home struct {
	Dir       string
	NodeID    string
	P2P       string // HOST:PORT
	API       string // base URL, http://HOST:PORT
	WalletKey string // the key genesis funds
}
