package chaos

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/actorchain/actorchain/localnet"
)

// stopBound bounds a node's SIGTERM stop at the end of a run.
const stopBound = 30 * time.Second

// check converges the healed network, collects what the invariants need, stops the nodes,
// verifies the homes and records every check in tr.
func (r *runner) check(ctx context.Context, tr *Transcript) {
	acked := r.ackedHashes()
	tr.Acked = len(acked)
	r.mu.Lock()
	tr.Known = r.known
	r.mu.Unlock()
	r.printf("chaos: %d transfers acknowledged (%d more known without a 202); converging\n", len(acked), tr.Known)

	// Everything below shares one bound: --converge from the end of the heal.
	deadline := r.healed.Add(r.cfg.Converge)

	// 1. Every node confirms every acknowledged transfer, everyone mining.
	left := r.awaitConfirmed(ctx, acked, deadline)

	// 2. Only node0 mines until it is ahead of everyone; then nobody mines and all must agree.
	tips := r.converge(ctx, deadline)
	took := time.Since(r.healed)
	tr.ConvergeS = took.Seconds()
	tr.Checks = append(tr.Checks, WaitedFor(CheckConverged(tips, took, r.cfg.Converge), left, len(acked)))
	if st, err := r.clients[0].Status(ctx); err == nil {
		tr.Height, tr.Tip = st.Height, st.TipHash
	}

	// 3. Collect: each node's view of each transfer, and the main chain's transactions.
	seen := r.collectSeen(ctx, acked)
	inChain, err := r.chainTxs(ctx, tr.Height)
	tc := CheckTransfers(acked, inChain, seen)
	if err != nil {
		tc.OK, tc.Detail = false, "reading the main chain: "+err.Error()
	}
	tr.Checks = append(tr.Checks, tc)

	// 4. Stop the nodes, verify the homes, read the logs.
	r.stopAll()
	r.checkStopped(ctx, tr)
	tr.OK = true
	for _, c := range tr.Checks {
		tr.OK = tr.OK && c.OK
	}
}

// confirmWorkers is how many transfer queries run at once against one node while the checks
// collect each node's view of each acknowledged transfer.
const confirmWorkers = 8

// awaitConfirmed polls until every node confirms every acknowledged transfer, or deadline, and
// returns the most transfers one node's main chain did not hold when it stopped. Each node's
// main chain is followed block by block (chainView: only what changed since the last round is
// read), the nodes in parallel. Asking about each transfer instead did not scale: a run that
// acknowledged 150,203 transfers (seed 91, 300 s, a transfer every 10 ms) spent the whole
// convergence bound in those queries, so the miners were never switched off and the tips never
// settled.
func (r *runner) awaitConfirmed(ctx context.Context, acked []string, deadline time.Time) (left int) {
	bound, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	lefts := make([]int, len(r.homes))
	var wg sync.WaitGroup
	for k := range r.homes {
		lefts[k] = len(acked)
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := newChainView(r.clients[k])
			_ = poll(bound, 500*time.Millisecond, func() bool {
				if err := v.update(bound); err != nil {
					return false // a node down or a reorg during the read: the next round
				}
				lefts[k] = v.missing(acked)
				return lefts[k] == 0
			})
		}()
	}
	wg.Wait()
	return slices.Max(append(lefts, 0))
}

// confirmedIn asks node k about each of hashes, confirmWorkers at a time, and returns for each
// the block that confirms it: "" when the node does not confirm it or did not answer.
func (r *runner) confirmedIn(ctx context.Context, k int, hashes []string) []string {
	out := make([]string, len(hashes))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(confirmWorkers, len(hashes)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(hashes) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				c, cancel := context.WithTimeout(ctx, submitTimeout)
				st, err := r.clients[k].Tx(c, hashes[i])
				cancel()
				if err == nil && st.Status == "confirmed" {
					out[i] = st.BlockHash
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// collectSeen reads each node's view of each acknowledged transfer: the block that confirms it.
// The nodes are asked in parallel.
func (r *runner) collectSeen(ctx context.Context, acked []string) []TxSeen {
	seen := make([]TxSeen, len(r.homes))
	var wg sync.WaitGroup
	for k := range r.homes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			blocks := r.confirmedIn(ctx, k, acked)
			seen[k] = TxSeen{}
			for i, b := range blocks {
				if b != "" {
					seen[k][acked[i]] = b
				}
			}
		}()
	}
	wg.Wait()
	return seen
}

// checkStopped records the checks of the stopped network: verify on every home, no unexpected
// exit, no lock error in the logs, every fault injected.
func (r *runner) checkStopped(ctx context.Context, tr *Transcript) {
	var vs []Verified
	for k := range r.homes {
		vs = append(vs, r.verify(ctx, k))
	}
	tr.Checks = append(tr.Checks, CheckVerify(vs))
	r.mu.Lock()
	tr.Exits = append([]Exit{}, r.exits...)
	r.mu.Unlock()
	for i := range tr.Exits {
		tr.Exits[i].AtS = tr.Exits[i].At.Seconds()
	}
	tr.Checks = append(tr.Checks, CheckDeaths(tr.Exits))
	var logs [][]byte
	for _, f := range r.logs {
		b, _ := os.ReadFile(f.Name())
		logs = append(logs, b)
	}
	tr.Checks = append(tr.Checks, CheckLocks(logs))
	tr.Checks = append(tr.Checks, CheckInjected(tr.Steps, kindsOf(r.faults)))
}

func kindsOf(fs []Fault) []Kind {
	var out []Kind
	for _, f := range fs {
		out = append(out, f.Kind)
	}
	return out
}

// ackedHashes lists the acknowledged transfers, each once (a retried transfer may have been
// acknowledged twice, by two nodes).
func (r *runner) ackedHashes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, a := range r.acks {
		if !seen[a.Hash] {
			seen[a.Hash] = true
			out = append(out, a.Hash)
		}
	}
	return out
}

// converge turns mining off on every node but node0, lets node0 get ahead of every tip, turns
// it off too and waits until every node reports the same tip; it returns the tips last seen.
func (r *runner) converge(ctx context.Context, deadline time.Time) []string {
	bound, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	for k := len(r.homes) - 1; k >= 1; k-- {
		_ = poll(bound, 200*time.Millisecond, func() bool {
			_, err := r.clients[k].SetMining(bound, false)
			return err == nil
		})
	}
	var ahead uint64
	for k := range r.homes {
		if st, err := r.clients[k].Status(bound); err == nil {
			ahead = max(ahead, st.Height)
		}
	}
	_ = poll(bound, 100*time.Millisecond, func() bool {
		st, err := r.clients[0].Status(bound)
		return err == nil && st.Height > ahead
	})
	_ = poll(bound, 200*time.Millisecond, func() bool {
		_, err := r.clients[0].SetMining(bound, false)
		return err == nil
	})
	tips := make([]string, len(r.homes))
	read := func() bool {
		for k := range r.homes {
			// Its own timeout: the tips are read at least once even when the bound has passed.
			c, cancel := context.WithTimeout(ctx, submitTimeout)
			st, err := r.clients[k].Status(c)
			cancel()
			tips[k] = ""
			if err == nil {
				tips[k] = st.TipHash
			}
		}
		for _, t := range tips {
			if t == "" || t != tips[0] {
				return false
			}
		}
		return true
	}
	_ = poll(bound, 100*time.Millisecond, read)
	return tips
}

// chainTxs counts each transaction hash in node0's main chain up to height.
func (r *runner) chainTxs(ctx context.Context, height uint64) (map[string]int, error) {
	out := map[string]int{}
	for h := uint64(1); h <= height; h++ {
		c, cancel := context.WithTimeout(ctx, submitTimeout)
		b, err := r.clients[0].Block(c, strconv.FormatUint(h, 10))
		cancel()
		if err != nil {
			return out, fmt.Errorf("block %d: %w", h, err)
		}
		for _, t := range b.Txs {
			out[t.Hash]++
		}
	}
	return out, nil
}

// stopAll stops every running node with SIGTERM (each must exit 0 within stopBound).
func (r *runner) stopAll() {
	var ps []*proc
	r.mu.Lock()
	for _, p := range r.procs {
		if p != nil {
			p.stopping = true
			ps = append(ps, p)
		}
	}
	r.mu.Unlock()
	for _, p := range ps {
		_ = p.Signal(syscall.SIGTERM)
	}
	for k, p := range ps {
		select {
		case <-p.Done():
		case <-time.After(stopBound):
			r.mu.Lock()
			r.exits = append(r.exits, Exit{Node: k, At: time.Since(r.began), How: fmt.Sprintf("still running %s after SIGTERM", stopBound)})
			p.byHand = true
			r.mu.Unlock()
			p.Kill()
			<-p.Done()
		}
	}
}

// verify runs `node verify` on node k's home.
func (r *runner) verify(ctx context.Context, k int) Verified {
	ok, height, problem := localnet.Verify(ctx, r.cfg.Exe, r.homes[k].Dir, r.env)
	return Verified{Node: k, OK: ok, Height: height, Error: problem}
}
