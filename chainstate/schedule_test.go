package chainstate

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"math/big"
	"testing"
)

// adjParams is a small adjusting chain: genesis target 2^252 - 1 (4 bits), 1 s blocks, a 10 s
// half-life.
func adjParams() *Params {
	p := testParams(nil)
	p.PowBits = 4
	p.TargetBlockTimeMs = 1000
	p.HalfLifeMs = 10_000
	return p
}

// mineTarget searches nonces until h's hash is at most its compact target.
func mineTarget(tb testing.TB, h *Header) {
	tb.Helper()
	t, err := CompactToTarget(h.Bits)
	if err != nil {
		tb.Fatal(err)
	}
	w := h.WorkHeader()
	for n := uint64(0); n <= 1<<32-1; n++ {
		be.PutUint32(w[WorkNonceOffset:], uint32(n))
		if MeetsTarget(HashWork(&w), t) {
			h.Nonce = uint32(n)
			return
		}
	}
	tb.Fatalf("no nonce meets %08x", h.Bits)
}

// adjChain is a line of blocks on an adjusting chain with its headers by height.
type adjChain struct {
	p       *Params
	headers []Header // headers[h] at height h
	blocks  []*Block // blocks[h] at height h (genesis included)
}

func newAdjChain(p *Params) *adjChain {
	g := p.Genesis()
	return &adjChain{p: p, headers: []Header{g.Header}, blocks: []*Block{g}}
}

func (c *adjChain) anc(height uint64) (Header, bool) {
	if height >= uint64(len(c.headers)) {
		return Header{}, false
	}
	return c.headers[height], true
}

// next builds and mines the block after the tip at time timeMs with the scheduled bits.
func (c *adjChain) next(tb testing.TB, k ed25519.PrivateKey, timeMs uint64) *Block {
	tb.Helper()
	parent := &c.headers[len(c.headers)-1]
	n, err := c.p.NextAfter(parent, c.anc)
	if err != nil {
		tb.Fatal(err)
	}
	b, _, err := BuildTemplate(c.p, parent, c.p.GenesisAccounts(), pubOf(k), nil, max(timeMs, n.MinTimeMs))
	if err != nil {
		tb.Fatal(err)
	}
	// Each block credits the miner: keep the state root right by applying on the chain's state.
	b.Header.StateRoot = c.stateAfter(tb, b)
	b.Header.Bits = n.Bits
	b.Header.Seal(k)
	mineTarget(tb, &b.Header)
	c.headers = append(c.headers, b.Header)
	c.blocks = append(c.blocks, b)
	return b
}

// stateAfter is the state root after b on top of the chain's blocks.
func (c *adjChain) stateAfter(tb testing.TB, b *Block) Hash {
	state := c.p.GenesisAccounts()
	for _, blk := range append(c.blocks[1:], b) {
		o := newOverlay(state, 1)
		if err := o.credit(blk.Header.Miner.Address(), c.p.BlockReward, 0); err != nil {
			tb.Fatal(err)
		}
		d := o.delta(Hash{})
		d.ApplyTo(state)
	}
	return StateRootOf(map[Address]Account(state))
}

func TestAdjustingGenesis(t *testing.T) {
	fixed := goldenParams()
	adj := goldenParams()
	adj.TargetBlockTimeMs, adj.HalfLifeMs = 1000, 300_000
	fb, ab := fixed.CanonicalBytes(), adj.CanonicalBytes()
	if !bytes.HasPrefix(ab, fb) || len(ab) != len(fb)+16 {
		t.Fatalf("adjusting params encoding is not the fixed one + 16 bytes: %x / %x", fb, ab)
	}
	if tail := ab[len(fb):]; be.Uint64(tail) != 1000 || be.Uint64(tail[8:]) != 300_000 {
		t.Fatalf("tail %x", tail)
	}
	g := adj.Genesis()
	// 2^236 - 1 in compact form: exponent 30, mantissa 0x0fffff.
	if g.Header.Bits != 0x1e0fffff || adj.GenesisBits() != 0x1e0fffff {
		t.Fatalf("genesis bits %08x, want 1e0fffff", g.Header.Bits)
	}
	want := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 236), new(big.Int).Lsh(big.NewInt(1), 216))
	if adj.GenesisTarget().Cmp(want) != 0 {
		t.Fatalf("genesis target %x, want %x", adj.GenesisTarget(), want)
	}
	if fixed.GenesisTarget().Cmp(TargetForBits(20)) != 0 || fixed.GenesisBits() != 20 {
		t.Fatal("a fixed chain's genesis target or bits changed")
	}
	if adj.GenesisHash() == fixed.GenesisHash() {
		t.Fatal("the schedule is not bound by the genesis hash")
	}
	// The work of a genesis-target block is 2^20 + 1 (the compact form rounds the target down).
	if w := adj.Work(&g.Header); w.Cmp(new(big.Int).Add(WorkForBits(20), big.NewInt(1))) != 0 {
		t.Fatalf("genesis work %s", w)
	}
	if w := fixed.Work(&fixed.Genesis().Header); w.Cmp(WorkForBits(20)) != 0 {
		t.Fatalf("fixed genesis work %s", w)
	}
	bad := Header{Bits: 0x04923456}
	if w := adj.Work(&bad); w.Sign() != 0 {
		t.Fatalf("work of bits that encode no target: %s", w)
	}
	for name, f := range map[string]func(p *Params){
		"target block time": func(p *Params) { p.TargetBlockTimeMs++ },
		"half-life":         func(p *Params) { p.HalfLifeMs++ },
	} {
		p := goldenParams()
		p.TargetBlockTimeMs, p.HalfLifeMs = 1000, 300_000
		f(p)
		if p.GenesisHash() == adj.GenesisHash() {
			t.Errorf("%s is not bound by the genesis hash", name)
		}
	}
	// The half-life of a fixed chain is not part of it.
	fixed2 := goldenParams()
	fixed2.HalfLifeMs = 5
	if fixed2.GenesisHash() != fixed.GenesisHash() {
		t.Fatal("the half-life of a fixed chain changes its genesis")
	}
}

func TestParamsValidateSchedule(t *testing.T) {
	tests := []struct {
		name string
		f    func(p *Params)
		ok   bool
	}{
		{"adjusting", func(p *Params) {}, true},
		{"no half-life", func(p *Params) { p.HalfLifeMs = 0 }, false},
		{"huge target", func(p *Params) { p.TargetBlockTimeMs = MaxScheduleMs + 1 }, false},
		{"huge half-life", func(p *Params) { p.HalfLifeMs = MaxScheduleMs + 1 }, false},
		{"pow bits 256", func(p *Params) { p.PowBits = 256 }, false},
		{"pow bits 255", func(p *Params) { p.PowBits = 255 }, true},
		{"fixed without half-life", func(p *Params) { p.TargetBlockTimeMs, p.HalfLifeMs = 0, 0 }, true},
	}
	for _, tt := range tests {
		p := adjParams()
		tt.f(p)
		if err := p.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

// TestNextAfter: block 1 carries the genesis target; later blocks ASERT from block 1 and the
// parent; blocks ahead of schedule get harder targets, behind schedule easier ones; a fixed chain
// keeps pow_bits.
func TestNextAfter(t *testing.T) {
	p := adjParams()
	c := newAdjChain(p)
	k := testKey(1)
	g := c.headers[0]
	b1 := c.next(t, k, g.Time+5_000_000) // a genesis far in the past: block 1 anchors the schedule
	if b1.Header.Bits != p.GenesisBits() {
		t.Fatalf("block 1 bits %08x, want the genesis bits %08x", b1.Header.Bits, p.GenesisBits())
	}
	// On schedule: the genesis target again.
	b2 := c.next(t, k, b1.Header.Time+1000)
	n, err := p.NextAfter(&b2.Header, c.anc)
	if err != nil {
		t.Fatal(err)
	}
	if n.Bits != p.GenesisBits() {
		t.Fatalf("on schedule: bits %08x, want %08x", n.Bits, p.GenesisBits())
	}
	if b2.Header.Bits != p.GenesisBits() {
		t.Fatalf("block 2 bits %08x (parent block 1 is the anchor: no change)", b2.Header.Bits)
	}
	// A half-life behind schedule doubles the target, one ahead halves it.
	gt := p.GenesisTarget()
	for _, tt := range []struct {
		dt   int64
		want *big.Int
	}{
		{1000 + 10_000, new(big.Int).Lsh(gt, 1)},
		{1000 - 10_000, new(big.Int).Rsh(gt, 1)},
	} {
		parent := b2.Header
		parent.Height = 3
		parent.Time = uint64(int64(b2.Header.Time) + tt.dt)
		n, err := p.NextAfter(&parent, c.anc)
		if err != nil {
			t.Fatal(err)
		}
		if want := TargetToCompact(tt.want); n.Bits != want {
			t.Errorf("dt %d: bits %08x, want %08x", tt.dt, n.Bits, want)
		}
		if want := TargetToCompact(p.Schedule(&b1.Header).Next(parent.Height, parent.Time)); n.Bits != want {
			t.Errorf("dt %d: bits %08x, schedule says %08x", tt.dt, n.Bits, want)
		}
	}
	// The anchor must be known.
	if _, err := p.NextAfter(&b2.Header, func(uint64) (Header, bool) { return Header{}, false }); err == nil {
		t.Fatal("NextAfter without the anchor did not fail")
	}
	// A fixed chain needs no ancestors.
	f := testParams(nil)
	if n, err := f.NextAfter(&b2.Header, nil); err != nil || n.Bits != f.PowBits || n.MinTimeMs != b2.Header.Time {
		t.Fatalf("fixed NextAfter = %+v, %v", n, err)
	}
}

// TestMedianTimePast: the median of the parent's and its 10 ancestors' times; the next block's
// earliest time is one past it (and never before the parent's).
func TestMedianTimePast(t *testing.T) {
	p := adjParams()
	c := newAdjChain(p)
	k := testKey(1)
	g := c.headers[0].Time
	// Twelve blocks: times g+1, g+2, ..., all 1 ms apart except that 6 of the last 11 share one
	// time: then the median is the parent's time and the next block must be 1 ms later.
	times := []uint64{g + 1, g + 2, g + 3, g + 4, g + 5, g + 6, g + 7, g + 7, g + 7, g + 7, g + 7, g + 7}
	for i, tm := range times {
		b := c.next(t, k, tm)
		if b.Header.Time != tm {
			t.Fatalf("block %d: time %d, want %d", i+1, b.Header.Time, tm)
		}
	}
	parent := &c.headers[len(c.headers)-1]
	mtp, err := MedianTimePast(parent, c.anc)
	if err != nil {
		t.Fatal(err)
	}
	if mtp != g+7 {
		t.Fatalf("median time past %d, want %d", mtp-g, 7)
	}
	n, _ := p.NextAfter(parent, c.anc)
	if n.MinTimeMs != g+8 {
		t.Fatalf("earliest next time g+%d, want g+8", n.MinTimeMs-g)
	}
	// Near genesis fewer than 11 times count.
	if mtp, _ := MedianTimePast(&c.headers[2], c.anc); mtp != g+1 {
		t.Fatalf("median of genesis, g+1, g+2 = g+%d", mtp-g)
	}
	if mtp, _ := MedianTimePast(&c.headers[0], nil); mtp != g {
		t.Fatalf("median of genesis alone = %d", mtp)
	}
}

// TestCheckAdjusting is the table test of the context and stateless checks of an adjusting
// chain: scheduled bits, median time past, the anchor, the proof of work against the target.
func TestCheckAdjusting(t *testing.T) {
	p := adjParams()
	c := newAdjChain(p)
	k := testKey(1)
	g := c.headers[0].Time
	for i := uint64(1); i <= 12; i++ {
		c.next(t, k, g+i*100) // 10x too fast: the targets get harder
	}
	parent := c.headers[12]
	n, err := p.NextAfter(&parent, c.anc)
	if err != nil {
		t.Fatal(err)
	}
	if n.Bits == p.GenesisBits() {
		t.Fatalf("bits did not move: %08x", n.Bits)
	}
	good := func() *Block {
		b := &Block{Header: Header{Version: HeaderVersion, PrevHash: parent.Hash(), Height: 13, Bits: n.Bits,
			TxRoot: TxRoot(nil), Time: parent.Time + 100}}
		return b
	}
	tests := []struct {
		name  string
		f     func(b *Block)
		anc   Ancestors
		code  ErrorCode
		other bool // an error that is not a rule error
	}{
		{"good", func(b *Block) {}, c.anc, CodeUnknown, false},
		{"genesis bits", func(b *Block) { b.Header.Bits = p.GenesisBits() }, c.anc, CodeBadBits, false},
		{"bits one off", func(b *Block) { b.Header.Bits = n.Bits + 1 }, c.anc, CodeBadBits, false},
		{"pow bits", func(b *Block) { b.Header.Bits = p.PowBits }, c.anc, CodeBadBits, false},
		{"time at the median", func(b *Block) { b.Header.Time = parent.Time }, mtpAt(c, parent.Time), CodeTimeTooOld, false},
		{"time after the median", func(b *Block) { b.Header.Time = parent.Time + 1 }, mtpAt(c, parent.Time), CodeUnknown, false},
		{"time at the parent's", func(b *Block) { b.Header.Time = parent.Time }, c.anc, CodeUnknown, false},
		{"time before parent", func(b *Block) { b.Header.Time = parent.Time - 1 }, c.anc, CodeTimeTooOld, false},
		{"no anchor", func(b *Block) {}, func(h uint64) (Header, bool) {
			if h == 1 {
				return Header{}, false
			}
			return c.anc(h)
		}, CodeUnknown, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := good()
			tt.f(b)
			err := CheckHeaderContext(p, &b.Header, &parent, tt.anc, parent.Time+1000)
			if tt.other {
				var re *RuleError
				if err == nil || errors.As(err, &re) {
					t.Fatalf("got %v, want a non-rule error", err)
				}
				return
			}
			wantCode(t, err, tt.code)
		})
	}
	// Proof of work: a hash above the block's target fails, at or below passes; bits that encode
	// no target fail.
	b := good()
	b.Header.Seal(k)
	target, _ := CompactToTarget(b.Header.Bits)
	for nonce := uint32(0); ; nonce++ {
		b.Header.Nonce = nonce
		if h := b.Hash(); !MeetsTarget(h, target) && MeetsTarget(h, p.GenesisTarget()) {
			break // easy enough for the genesis target, not for this block's
		}
	}
	wantCode(t, CheckBlock(p, b, nil), CodeBadPoW)
	mineTarget(t, &b.Header)
	wantCode(t, CheckBlock(p, b, nil), CodeUnknown)
	b.Header.Bits = 0x04923456 // the sign bit
	b.Header.Seal(k)
	wantCode(t, CheckBlock(p, b, nil), CodeBadBits)
}

// mtpAt returns c's ancestors with the times of the parent's last 10 ancestors set to parentTime,
// so that the median time past is the parent's time.
func mtpAt(c *adjChain, parentTime uint64) Ancestors {
	return func(h uint64) (Header, bool) {
		hd, ok := c.anc(h)
		if h > 1 {
			hd.Time = parentTime
		}
		return hd, ok
	}
}

// TestAdjustingStore connects an adjusting chain whose targets move into a store: the cumulative
// work is the sum of 2^256 / (target + 1), NextAfterTip agrees with NextAfter, and Verify (the
// cleanup of openTestStore) re-checks every block's bits and time against the schedule.
func TestAdjustingStore(t *testing.T) {
	p := adjParams()
	s, _ := openTestStore(t, p, true)
	c := newAdjChain(p)
	k := testKey(1)
	g := c.headers[0].Time
	work := p.Work(&c.headers[0])
	for i := uint64(1); i <= 20; i++ {
		tm := g + i*200 // 5x too fast
		if i > 10 {
			tm = g + 2000 + (i-10)*3000 // then 3x too slow
		}
		b := c.next(t, k, tm)
		if err := CheckHeaderContext(p, &b.Header, &c.headers[i-1], c.anc, tm); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if err := CheckBlock(p, b, nil); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		tip, next, err := s.NextAfterTip()
		if err != nil || tip.Hash != b.Header.PrevHash || next.Bits != b.Header.Bits {
			t.Fatalf("block %d: NextAfterTip = %s %+v %v, want bits %08x", i, tip.Hash, next, err, b.Header.Bits)
		}
		connectAll(t, s, b)
		work.Add(work, WorkForTarget(mustTarget(t, b.Header.Bits)))
	}
	tip, err := s.Tip()
	if err != nil {
		t.Fatal(err)
	}
	if tip.Work.Cmp(work) != 0 {
		t.Fatalf("tip work %s, want %s", tip.Work, work)
	}
	distinct := map[uint32]bool{}
	for _, h := range c.headers {
		distinct[h.Bits] = true
	}
	if len(distinct) < 5 {
		t.Fatalf("only %d distinct targets over the chain", len(distinct))
	}
}

func mustTarget(t *testing.T, c uint32) *big.Int {
	t.Helper()
	x, err := CompactToTarget(c)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// BenchmarkNextAfter is the schedule's cost per block on an adjusting chain (what CheckHeader
// adds to a fixed chain's check): the median time past of 11 headers and one ASERT step, with
// ancestors read from memory.
func BenchmarkNextAfter(b *testing.B) {
	p := adjParams()
	c := newAdjChain(p)
	k := testKey(1)
	g := c.headers[0].Time
	for i := uint64(1); i <= 20; i++ {
		c.next(b, k, g+i*700)
	}
	parent := &c.headers[20]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.NextAfter(parent, c.anc); err != nil {
			b.Fatal(err)
		}
	}
}
