package actors

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/compact"
	"github.com/actorchain/actorchain/internal/testchain"
	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/actorchain/actorchain/noisep2p"
)

// commitGate holds every storage commit while closed (Options.beforeCommit), at most 20 s each,
// and counts the commits it holds.
type commitGate struct {
	closed  atomic.Bool
	held    atomic.Int64
	release chan struct{}
}

func (g *commitGate) hook() error {
	if g.closed.Load() {
		g.held.Add(1)
		select {
		case <-g.release:
		case <-time.After(20 * time.Second):
		}
	}
	return nil
}

// testPeer is a peer that speaks compact blocks, driven by the test.
type testPeer struct {
	conn *noisep2p.Conn
	msgs chan noisep2p.Message
}

func dialTestPeer(t *testing.T, n *Node) *testPeer {
	t.Helper()
	key, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &noisep2p.Config{Key: key, Genesis: n.Params().GenesisHash(), Hello: func() noisep2p.Hello {
		return noisep2p.Hello{Minor: noisep2p.MinorCompact, Features: noisep2p.FeatureCompactBlocks}
	}}
	id, err := noisep2p.ParseID(n.NodeID())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := noisep2p.Dial(ctx, n.P2PAddr(), cfg, &id)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPeer{conn: c, msgs: make(chan noisep2p.Message, 4096)}
	c.Start(func(typ uint8, payload []byte) {
		if m, err := noisep2p.DecodeMessage(typ, append([]byte(nil), payload...)); err == nil {
			select {
			case p.msgs <- m:
			default:
			}
		}
	}, func(error) {})
	t.Cleanup(func() { _ = c.Close() })
	return p
}

// expect returns the next message of type typ, skipping others, within 10 s.
func (p *testPeer) expect(t *testing.T, typ uint8) noisep2p.Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-p.msgs:
			if m.Type() == typ {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s in 10 s", noisep2p.MsgName(typ))
		}
	}
}

func (p *testPeer) send(t *testing.T, m noisep2p.Message) {
	t.Helper()
	if err := p.conn.Send(m.Type(), m.Encode()); err != nil {
		t.Fatal(err)
	}
}

// TestCompactRelayBeforeCommit: a block pushed by a high-bandwidth peer reaches this node's other
// high-bandwidth peer while this node's commit of it is still held, and is stored once the
// commit goes on.
func TestCompactRelayBeforeCommit(t *testing.T) {
	cfg, wallet := quietHome(t)
	cfg.P2P.Listen = "127.0.0.1:0"
	cfg.Debug.FaultInjection = false
	cfg.Chain.PowBits = 4
	gate := &commitGate{release: make(chan struct{})}
	n, err := Start(cfg, Options{beforeCommit: gate.hook})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		gate.closed.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	from, to := dialTestPeer(t, n), dialTestPeer(t, n)
	for _, p := range []*testPeer{from, to} {
		if m := p.expect(t, noisep2p.MsgSendCmpct).(noisep2p.SendCmpct); !m.HighBandwidth {
			t.Fatal("the node did not ask for high-bandwidth relay")
		}
		p.send(t, noisep2p.SendCmpct{HighBandwidth: true})
	}
	// The node has taken the SendCmpct of `to` once it answers a GetMempool sent after it (a
	// connection handles its messages in order).
	to.send(t, noisep2p.GetMempool{})
	to.expect(t, noisep2p.MsgInv)

	p := n.Params()
	tx := signTransfer(p, wallet, chainstate.Address{9}, 0)
	blk := testchain.New(p).Mine(t, wallet, []*chainstate.Tx{tx})
	gate.closed.Store(true)
	from.send(t, compact.Build(blk, compact.Hashes(blk), 1, func(chainstate.Hash) bool { return false }))
	got := to.expect(t, noisep2p.MsgCmpctBlock).(noisep2p.CmpctBlock)
	hdr, err := chainstate.DecodeHeader(got.Header[:])
	if err != nil || hdr.Hash() != blk.Hash() {
		t.Fatalf("relayed another block (%v)", err)
	}
	st, err := n.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Height != 0 {
		t.Fatalf("height %d when the block was relayed: it was committed first", st.Height)
	}
	testutil.WaitFor(t, 10*time.Second, "the block's commit held", func() bool { return gate.held.Load() > 0 })
	// Not stored yet, the block is served from what the connection sent: its transactions and
	// the whole block.
	to.send(t, noisep2p.GetBlockTxn{Hash: blk.Hash(), Indexes: []uint32{0}})
	if txn := to.expect(t, noisep2p.MsgBlockTxn).(noisep2p.BlockTxn); len(txn.Txs) != 1 || string(txn.Txs[0]) != string(tx.Encode()) {
		t.Fatal("getblocktxn before the commit answered wrongly")
	}
	to.send(t, noisep2p.GetData{Items: []noisep2p.InvItem{{Kind: noisep2p.InvBlock, Hash: blk.Hash()}}})
	if whole := to.expect(t, noisep2p.MsgBlock).(noisep2p.Block); string(whole.Raw) != string(blk.Encode()) {
		t.Fatal("getdata before the commit answered with another block")
	}
	if st, err := n.Status(context.Background()); err != nil || st.Height != 0 {
		t.Fatalf("height %d (%v) while the commit is held", st.Height, err)
	}
	gate.closed.Store(false)
	close(gate.release)
	testutil.WaitFor(t, 10*time.Second, "height 1", func() bool {
		st, err := n.Status(context.Background())
		return err == nil && st.Height == 1
	})
}
