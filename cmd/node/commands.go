package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
)

func newStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Print GET /v1/status of a running node as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
			defer cancel()
			st, err := c.Status(ctx)
			if err != nil {
				return nodeError(c, err)
			}
			return printJSON(cmd.OutOrStdout(), st)
		},
	}
}

func newKeysCmd(g *globals) *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Create and show spending keys", Args: cobra.NoArgs}
	var out string
	newc := &cobra.Command{
		Use:   "new --out FILE",
		Short: "Create an ed25519 spending key file (mode 0600) and print its public key and address",
		Long: `Create an ed25519 spending key file (mode 0600; an existing FILE is not overwritten) and
print its public key and address.

A key file is one JSON object:

  {"type": "ed25519", "seed": "<64 hex characters>"}

type is ed25519 (spending and sealing keys) or x25519 (the node's p2p key, keys/node.key); seed is
the 32-byte secret in hex (for ed25519 the RFC 8032 seed). The address is the first 20 bytes of
SHA-256 of the public key. Whoever holds the file can spend: keep it private. See
docs/operations.md, "Keys".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("keys new: --out FILE is required")
			}
			if err := chainstate.GenerateKeyFile(out, "ed25519"); err != nil {
				return err
			}
			return showKey(cmd, out)
		},
	}
	newc.Flags().StringVar(&out, "out", "", "file to write the key to")
	show := &cobra.Command{
		Use:   "show FILE",
		Short: "Print a key file's public key and address",
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return showKey(cmd, args[0]) },
	}
	keys.AddCommand(newc, show)
	return keys
}

func showKey(cmd *cobra.Command, path string) error {
	pub, addr, _, err := chainstate.KeyInfo(path)
	if err != nil {
		return err
	}
	return printJSON(cmd.OutOrStdout(), map[string]string{"public_key": pub, "address": addr})
}

func newVerifyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Re-execute the stored main chain from genesis and check every block and the account state (node stopped)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, params, err := g.loadChain()
			if err != nil {
				return err
			}
			start := time.Now()
			rep, err := chainstate.Verify(cfg.Storage.Path, params, cfg.Storage.OpenTimeout)
			if err != nil {
				return fmt.Errorf("verify %s: %w", cfg.Storage.Path, err)
			}
			return printJSON(cmd.OutOrStdout(), map[string]any{
				"ok": true, "path": cfg.Storage.Path, "height": rep.Height, "tip_hash": rep.TipHash.String(),
				"blocks": rep.Blocks, "txs": rep.Txs, "accounts": rep.Accounts,
				"seconds": time.Since(start).Seconds(),
			})
		},
	}
}

// txSendOptions are the flags of `node tx send`.
type txSendOptions struct {
	keyFile, to        string
	amount, fee        uint64
	nonce              uint64
	wait               bool
	count, concurrency int
	waitTimeout        time.Duration
}

func newTxCmd(g *globals) *cobra.Command {
	tx := &cobra.Command{Use: "tx", Short: "Send transfers", Args: cobra.NoArgs}
	o := &txSendOptions{}
	send := &cobra.Command{
		Use:   "send --key FILE --to ADDR --amount N",
		Short: "Build, sign and submit a transfer (or --count C of them: the load generator)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return g.runTxSend(cmd, o) },
	}
	f := send.Flags()
	f.StringVar(&o.keyFile, "key", "", "spending key file")
	f.StringVar(&o.to, "to", "", "recipient address (40 hex)")
	f.Uint64Var(&o.amount, "amount", 0, "amount to transfer")
	f.Uint64Var(&o.fee, "fee", 0, "fee for the miner")
	f.Var((*nonceFlag)(&o.nonce), "nonce", "nonce, 0 or more (default: the account's next pending nonce); a pending transfer's nonce with a higher --fee replaces it (replace-by-fee)")
	f.BoolVar(&o.wait, "wait", false, "wait until the transfer is in a block")
	f.DurationVar(&o.waitTimeout, "wait-timeout", 60*time.Second, "how long --wait waits")
	f.IntVar(&o.count, "count", 0, "send this many transfers with consecutive nonces (load generator)")
	f.IntVar(&o.concurrency, "concurrency", 8, "requests in flight with --count")
	tx.AddCommand(send)
	return tx
}

// validate checks the flags of `node tx send` before anything is read or sent.
func (o *txSendOptions) validate() error {
	if o.keyFile == "" || o.to == "" {
		return usagef("tx send: --key and --to are required")
	}
	if o.amount == 0 {
		return usagef("tx send: --amount must be > 0")
	}
	if _, err := chainstate.ParseAddress(o.to); err != nil {
		return usagef("tx send: --to: %v", err)
	}
	if o.count < 0 || o.concurrency < 1 {
		return usagef("tx send: --count must be >= 0 and --concurrency >= 1")
	}
	return nil
}

// runTxSend builds, signs and submits one transfer (waiting for its block with --wait), or
// --count of them with consecutive nonces (sendLoad).
func (g *globals) runTxSend(cmd *cobra.Command, o *txSendOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	priv, err := chainstate.LoadSigningKey(o.keyFile)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	st, err := c.Status(ctxTimeout(ctx, 10*time.Second))
	if err != nil {
		return nodeError(c, err)
	}
	from := chainstate.PublicKey(priv.Public().(ed25519.PublicKey))
	start, err := o.startNonce(cmd, c, from)
	if err != nil {
		return err
	}
	toAddr, _ := chainstate.ParseAddress(o.to)
	mk := func(n uint64) api.Tx {
		t := &chainstate.Tx{ChainID: st.ChainID, From: from, To: toAddr, Amount: o.amount, Fee: o.fee, Nonce: n}
		t.Sign(priv)
		return api.TxFromChain(t)
	}
	if o.count > 0 {
		return sendLoad(cmd, c, mk, start, o.count, o.concurrency)
	}
	hash, err := c.SubmitTx(ctxTimeout(ctx, 30*time.Second), mk(start))
	if err != nil {
		return nodeError(c, err)
	}
	if o.wait {
		if err := waitConfirmed(ctx, c, hash, o.waitTimeout); err != nil {
			return nodeError(c, err)
		}
	}
	return printJSON(cmd.OutOrStdout(), map[string]string{"hash": hash})
}

// startNonce is the first transfer's nonce: --nonce when given, else the account's next pending
// nonce as the node reports it.
func (o *txSendOptions) startNonce(cmd *cobra.Command, c *api.Client, from chainstate.PublicKey) (uint64, error) {
	if cmd.Flags().Changed("nonce") {
		return o.nonce, nil
	}
	acc, err := c.Account(ctxTimeout(cmd.Context(), 10*time.Second), from.Address().String())
	if err != nil {
		return 0, nodeError(c, err)
	}
	return acc.PendingNonce, nil
}

// ctxTimeout bounds one request of a short-lived command; the timer releases the context when it
// fires.
func ctxTimeout(ctx context.Context, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(ctx, d)
	time.AfterFunc(d, cancel)
	return c
}

// waitConfirmed polls the transaction until it is in a block.
func waitConfirmed(ctx context.Context, c *api.Client, hash string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		info, err := c.Tx(ctxTimeout(ctx, 10*time.Second), hash)
		if err == nil && info.Status == "confirmed" {
			return nil
		}
		if err == nil && info.Status == api.TxReplaced { // a later transfer with its nonce replaced it
			return fmt.Errorf("transaction %s was replaced by %s (replace-by-fee); wait for that one", hash, info.ReplacedBy)
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("transaction %s not confirmed within %s: %w", hash, limit, err)
			}
			return fmt.Errorf("transaction %s not confirmed within %s (status %s)", hash, limit, info.Status)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type loadResult struct {
	Sent     int64   `json:"sent"`
	Accepted int64   `json:"accepted"`
	Rejected int64   `json:"rejected"`
	Seconds  float64 `json:"seconds"`
}

// sendLoad sends count transfers with consecutive nonces from start, concurrency in flight, and
// prints the summary; any transfer not accepted makes it fail (exit 1) naming the first reason.
func sendLoad(cmd *cobra.Command, c *api.Client, mk func(uint64) api.Tx, start uint64, count, concurrency int) error {
	ctx := cmd.Context()
	defer oneProc()()
	subs, done := loadSubmitters(c, concurrency)
	defer done()
	var sent, accepted, rejected, next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	began := time.Now()
	for w := 0; w < concurrency; w++ {
		submit := subs[w]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(count) {
					return
				}
				sent.Add(1)
				if _, err := submit(ctx, mk(start+uint64(i))); err != nil {
					rejected.Add(1)
					firstErr.CompareAndSwap(nil, nodeError(c, err).Error())
					continue
				}
				accepted.Add(1)
			}
		}()
	}
	wg.Wait()
	res := loadResult{Sent: sent.Load(), Accepted: accepted.Load(), Rejected: rejected.Load(), Seconds: time.Since(began).Seconds()}
	if err := printJSON(cmd.OutOrStdout(), res); err != nil {
		return err
	}
	if res.Rejected > 0 {
		first, _ := firstErr.Load().(string)
		return fmt.Errorf("tx send: %d of %d transfers were not accepted; the first: %s", res.Rejected, res.Sent, first)
	}
	return nil
}

// oneProc runs the load generator on one P unless the GOMAXPROCS environment variable says
// otherwise, and returns the function that restores the setting. Its workers mostly wait for the
// node's replies; with a P per core the runtime keeps waking idle threads to look for work (each
// reply, each signature), which on the machine that also runs the node costs more CPU than the
// signing it spreads: 81 against 94 µs of the senders' CPU a transfer, and 5,184 against 4,888
// tx/s, over 9 alternating rounds each of `node bench --only user-ingest` (docs/performance.md).
// One P still signs about 40,000 transfers a second, far more than a node takes in.
func oneProc() (restore func()) {
	if os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	prev := runtime.GOMAXPROCS(1)
	return func() { runtime.GOMAXPROCS(prev) }
}

// nonceFlag is --nonce: an unsigned 64-bit integer, with an error in words ("-7" is not one). Unset
// (the flag not Changed) means the account's next pending nonce.
type nonceFlag uint64

func (n *nonceFlag) String() string { return strconv.FormatUint(uint64(*n), 10) }
func (n *nonceFlag) Type() string   { return "uint64" }

func (n *nonceFlag) Set(s string) error {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("want a whole number from 0 to %d, got %q", uint64(math.MaxUint64), s)
	}
	*n = nonceFlag(v)
	return nil
}
