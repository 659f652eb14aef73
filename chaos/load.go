package chaos

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/errcode"
	"github.com/actorchain/actorchain/localnet"
)

// senderFunds is what genesis wallets give each sender before the schedule starts.
const senderFunds = 1_000_000_000

// submitTimeout bounds one POST /v1/txs; a frozen node times out and the sender moves on to
// the next node with the same transaction.
const submitTimeout = 3 * time.Second

// account is a sender of transfers (localnet.Account).
type account = localnet.Account

// outcome is how a submission ended.
type outcome int

const (
	outAcked outcome = iota // 202: the node stored it durably
	outKnown                // the network already has it (duplicate, nonce used): not acknowledged to us
	outRetry                // no answer, busy, or not yet acceptable: try again, maybe elsewhere
)

// classify maps a POST /v1/txs result to what the sender does next, by the answer's code and
// detail (never its message). A sender never signs two transactions with one nonce, so
// duplicate and bad_nonce with detail nonce_used mean that this very transaction is known, and
// the sender moves on; a nonce gap or anything else is retried.
func classify(err error) outcome {
	if err == nil {
		return outAcked
	}
	var ae *api.APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Code == errcode.Duplicate:
			return outKnown
		case ae.Code == errcode.BadNonce && ae.Detail == errcode.NonceUsed:
			return outKnown
		}
	}
	return outRetry
}

// ack is one transfer a node acknowledged with 202.
type ack struct {
	Hash string
	Node int
	At   time.Duration
}

// submit sends tx until a node acknowledges it or knows it, starting at node *target and moving
// to the next node that is up after each failure. It returns false when ctx ends first.
func (r *runner) submit(ctx context.Context, tx api.Tx, target *int) (outcome, int, bool) {
	for {
		if ctx.Err() != nil {
			return outRetry, 0, false
		}
		k := *target
		if !r.isUp(k) {
			*target = (k + 1) % len(r.homes)
			if !sleepCtx(ctx, 50*time.Millisecond) {
				return outRetry, 0, false
			}
			continue
		}
		c, cancel := context.WithTimeout(ctx, submitTimeout)
		_, err := r.clients[k].SubmitTx(c, tx)
		cancel()
		switch o := classify(err); o {
		case outAcked, outKnown:
			return o, k, true
		}
		*target = (k + 1) % len(r.homes)
		if !sleepCtx(ctx, 100*time.Millisecond) {
			return outRetry, 0, false
		}
	}
}

// fund sends every sender its funds from the genesis wallets (wallet k funds the senders i with
// i mod nodes == k) and waits until every node sees every sender funded.
func (r *runner) fund(ctx context.Context, wallets, senders []*account, bound time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	for i, s := range senders {
		k := i % len(wallets)
		w := wallets[k]
		tx, _ := w.Sign(r.chainID, s.From.Address(), senderFunds, 1)
		target := k
		o, node, ok := r.submit(ctx, tx, &target)
		if !ok {
			return fmt.Errorf("funding sender %d: %w", i, ctx.Err())
		}
		w.Nonce++
		r.record(o, tx, node)
	}
	for _, s := range senders {
		for k := range r.homes {
			err := poll(ctx, 100*time.Millisecond, func() bool {
				c, cancel := context.WithTimeout(ctx, submitTimeout)
				defer cancel()
				a, err := r.clients[k].Account(c, s.Address())
				return err == nil && a.Balance >= senderFunds
			})
			if err != nil {
				return fmt.Errorf("sender %s not funded on node%d within %s", s.Address(), k, bound)
			}
		}
	}
	return nil
}

// load is one sender's loop: a transfer every interval to the next sender, each submitted until
// acknowledged or known, until ctx ends.
func (r *runner) load(ctx context.Context, i int, s, to *account, interval time.Duration) {
	target := i % len(r.homes)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		tx, _ := s.Sign(r.chainID, to.From.Address(), 1, 1)
		o, node, ok := r.submit(ctx, tx, &target)
		if !ok {
			return
		}
		s.Nonce++
		r.record(o, tx, node)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// record notes a submission's outcome; an acknowledged transfer's bytes are kept (a damage fault
// sends them again when the node that acknowledged them loses its disk).
func (r *runner) record(o outcome, tx api.Tx, node int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch o {
	case outAcked:
		r.acks = append(r.acks, ack{Hash: tx.Hash, Node: node, At: time.Since(r.began)})
		r.signed[tx.Hash] = tx
	case outKnown:
		r.known++
	}
}

// sleepCtx and poll are localnet's.
func sleepCtx(ctx context.Context, d time.Duration) bool { return localnet.SleepCtx(ctx, d) }

func poll(ctx context.Context, interval time.Duration, cond func() bool) error {
	return localnet.Poll(ctx, interval, cond)
}
