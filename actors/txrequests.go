package actors

import (
	"sync"
	"time"

	"github.com/actorchain/actorchain/chainstate"
)

// A transfer spreads by announcement: every peer that admits it announces it to its other peers,
// so a node on a network with eight connections a node hears of each transfer from several peers
// within one round trip, before the first request has been answered. Without coordination each
// of those connections asks for it, and the transfer crosses the wire, is decrypted, decoded and
// submitted several times (3.5 copies a node on the 32-node netsim). txRequests is the node's
// record of the transfers it has asked one peer for: another connection that hears of one of them
// waits (its announcement is deferred, peerConnActor.deferredTxs) and asks only when the first
// request has gone unanswered for txRequestTimeout. A transfer that arrives, or a notfound,
// releases its entry at once.

const (
	// txRequestTimeout is how long one peer has to deliver a transfer it was asked for before
	// another announcer is asked: several round trips of a slow link.
	txRequestTimeout = 2 * time.Second
	// txRequestsMax bounds the entries; beyond it a connection asks without recording (as
	// without coordination), so a flood of announcements costs bandwidth, never a transfer.
	txRequestsMax = 100_000
	// deferredTxsMax bounds one connection's deferred announcements; beyond it they are
	// dropped (the transfer still comes from the peer that was asked, or in a block).
	deferredTxsMax = 4096
	// peerTxInFlightMax bounds the transfers asked of one peer and not yet answered; more of its
	// announcements are deferred (asked of it when its requests are answered or expire, or of
	// another announcer). A peer that announces first and never delivers then holds back at
	// most this many transfers, each for txRequestTimeout, instead of every one it announced.
	peerTxInFlightMax = 500
)

// txRequests is safe for use by every connection at once.
type txRequests struct {
	mu      sync.Mutex
	asked   map[chainstate.Hash]time.Time // when the request went out
	timeout time.Duration
	max     int
}

func newTxRequests(timeout time.Duration, max int) *txRequests {
	return &txRequests{asked: map[chainstate.Hash]time.Time{}, timeout: timeout, max: max}
}

// claim splits hs into the transfers to ask for now (none asked for, or the request has expired;
// each recorded as asked at now) and those another request is still awaited for.
func (t *txRequests) claim(now time.Time, hs []chainstate.Hash) (ask, wait []chainstate.Hash) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.asked)+len(hs) > t.max {
		t.pruneLocked(now)
	}
	for _, h := range hs {
		at, ok := t.asked[h]
		switch {
		case ok && now.Sub(at) < t.timeout:
			wait = append(wait, h)
			continue
		case ok || len(t.asked) < t.max:
			t.asked[h] = now
		}
		ask = append(ask, h)
	}
	return ask, wait
}

// done releases hs: they arrived, or the peer asked has none.
func (t *txRequests) done(hs ...chainstate.Hash) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, h := range hs {
		delete(t.asked, h)
	}
}

// pruneLocked drops the expired entries (requests nobody answered).
func (t *txRequests) pruneLocked(now time.Time) {
	for h, at := range t.asked {
		if now.Sub(at) >= t.timeout {
			delete(t.asked, h)
		}
	}
}

// size is the number of entries (tests).
func (t *txRequests) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.asked)
}
