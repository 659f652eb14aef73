package chainstate

// TxRootOfHashes is TxRoot over the transactions' hashes, for a caller that has them already
// (compact block reconstruction: the mempool knows its transactions' hashes). It does not modify
// hashes.
func TxRootOfHashes(hashes []Hash) Hash { return merkleRoot(hashes) }
