package chainstate

import (
	"fmt"
	"math/big"
	"slices"
)

// MoreWork reports whether a chain of cumulative work candidate should replace the current tip's
// chain of work current: strictly more work. On a tie the first seen (current) stays.
func MoreWork(candidate, current *big.Int) bool { return candidate.Cmp(current) > 0 }

// ForkPath returns what Store.Reorg needs to move the main chain from oldTip to newTip:
// disconnect is oldTip's chain down to, excluding, the fork point (tip first), connect is
// newTip's chain from the fork point + 1 up to newTip (in order). lookup returns the index entry
// of a hash (Store.Entry, or an in-memory index). An unknown block on either path is an error
// wrapping ErrNotFound. When newTip extends oldTip, disconnect is empty.
func ForkPath(lookup func(Hash) (IndexEntry, bool), oldTip, newTip Hash) (disconnect, connect []Hash, err error) {
	get := func(h Hash) (IndexEntry, error) {
		e, ok := lookup(h)
		if !ok {
			return e, fmt.Errorf("fork path: block %s: %w", h, ErrNotFound)
		}
		return e, nil
	}
	a, err := get(oldTip)
	if err != nil {
		return nil, nil, err
	}
	b, err := get(newTip)
	if err != nil {
		return nil, nil, err
	}
	for a.Header.Height > b.Header.Height {
		disconnect = append(disconnect, a.Hash)
		if a, err = get(a.Header.PrevHash); err != nil {
			return nil, nil, err
		}
	}
	for b.Header.Height > a.Header.Height {
		connect = append(connect, b.Hash)
		if b, err = get(b.Header.PrevHash); err != nil {
			return nil, nil, err
		}
	}
	for a.Hash != b.Hash {
		if a.Header.Height == 0 {
			return nil, nil, fmt.Errorf("fork path: %s and %s share no ancestor: %w", oldTip, newTip, ErrNotFound)
		}
		disconnect = append(disconnect, a.Hash)
		connect = append(connect, b.Hash)
		if a, err = get(a.Header.PrevHash); err != nil {
			return nil, nil, err
		}
		if b, err = get(b.Header.PrevHash); err != nil {
			return nil, nil, err
		}
	}
	slices.Reverse(connect)
	return disconnect, connect, nil
}
