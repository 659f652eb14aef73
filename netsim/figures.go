package netsim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Connect is one `block connected` record of one node (CONTRACT §11: height, hash, txs, source).
type Connect struct {
	Node   int
	At     time.Time
	Height uint64
	Hash   string
	Txs    int
	Source string // mined | peer
}

// maxRecordLine bounds one log line the parser reads.
const maxRecordLine = 1 << 20

// ParseConnects reads node's JSON log and returns its `block connected` records in order. Lines
// that are not JSON objects (a panic's text, say) and other messages are skipped; a `block
// connected` record without a valid time, height or hash is an error naming its line.
func ParseConnects(node int, r io.Reader) ([]Connect, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxRecordLine)
	var out []Connect
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(b) == 0 || b[0] != '{' || !strings.Contains(string(b), `"block connected"`) {
			continue
		}
		var rec struct {
			Time   string  `json:"time"`
			Msg    string  `json:"msg"`
			Height *uint64 `json:"height"`
			Hash   string  `json:"hash"`
			Txs    int     `json:"txs"`
			Source string  `json:"source"`
		}
		if err := json.Unmarshal(b, &rec); err != nil || rec.Msg != "block connected" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, rec.Time)
		switch {
		case err != nil:
			return out, fmt.Errorf("node%d log line %d: block connected: time %q: %v", node, line, rec.Time, err)
		case rec.Height == nil:
			return out, fmt.Errorf("node%d log line %d: block connected without a height", node, line)
		case len(rec.Hash) != 64:
			return out, fmt.Errorf("node%d log line %d: block connected: hash %q is not 64 hex", node, line, rec.Hash)
		}
		out = append(out, Connect{Node: node, At: at, Height: *rec.Height, Hash: rec.Hash, Txs: rec.Txs, Source: rec.Source})
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("node%d log: %w", node, err)
	}
	return out, nil
}

// BlockSpread is how one main-chain block spread: the offsets from its first connect (the
// miner's) at which 50%, 90% and 100% of the nodes had connected it.
type BlockSpread struct {
	Hash    string  `json:"hash"`
	Height  uint64  `json:"height"`
	Miner   int     `json:"miner"`
	Reached int     `json:"reached"` // nodes that connected it
	P50Ms   float64 `json:"to_50_ms"`
	P90Ms   float64 `json:"to_90_ms"`
	P100Ms  float64 `json:"to_100_ms"` // -1 when some node never connected it
}

// reachAt is the offset at which ceil(frac × nodes) nodes had the block (offsets sorted); -1 when
// fewer did.
func reachAt(sorted []time.Duration, nodes int, frac float64) float64 {
	need := int(math.Ceil(frac*float64(nodes) - 1e-9))
	if need < 1 {
		need = 1
	}
	if need > len(sorted) {
		return -1
	}
	return float64(sorted[need-1]) / float64(time.Millisecond)
}

// Spread computes, for every block of main (hash → height) with a height in [from, to], how it
// spread over nodes from the nodes' connects. A node's first connect of a hash counts (a reorg
// may connect it again). Blocks nobody connected are left out.
func Spread(conns []Connect, nodes int, main map[string]uint64, from, to uint64) []BlockSpread {
	type seen struct {
		first map[int]time.Time
		miner int
	}
	by := map[string]*seen{}
	for _, c := range conns {
		h, ok := main[c.Hash]
		if !ok || h < from || h > to {
			continue
		}
		s := by[c.Hash]
		if s == nil {
			s = &seen{first: map[int]time.Time{}, miner: -1}
			by[c.Hash] = s
		}
		if t, ok := s.first[c.Node]; !ok || c.At.Before(t) {
			s.first[c.Node] = c.At
		}
		if c.Source == "mined" {
			s.miner = c.Node
		}
	}
	var out []BlockSpread
	for hash, s := range by {
		var t0 time.Time
		for _, t := range s.first {
			if t0.IsZero() || t.Before(t0) {
				t0 = t
			}
		}
		offs := make([]time.Duration, 0, len(s.first))
		for _, t := range s.first {
			offs = append(offs, t.Sub(t0))
		}
		slices.Sort(offs)
		out = append(out, BlockSpread{Hash: hash, Height: main[hash], Miner: s.miner, Reached: len(offs),
			P50Ms: reachAt(offs, nodes, 0.5), P90Ms: reachAt(offs, nodes, 0.9), P100Ms: reachAt(offs, nodes, 1)})
	}
	slices.SortFunc(out, func(a, b BlockSpread) int { return int(a.Height) - int(b.Height) })
	return out
}

// Stale counts the distinct blocks with a height in [from, to] that some node connected and that
// are not on the main chain (main: hash → height), and all distinct blocks connected there.
func Stale(conns []Connect, main map[string]uint64, from, to uint64) (stale, total int) {
	seen := map[string]bool{}
	for _, c := range conns {
		if c.Height < from || c.Height > to || seen[c.Hash] {
			continue
		}
		seen[c.Hash] = true
		total++
		if _, ok := main[c.Hash]; !ok {
			stale++
		}
	}
	return stale, total
}

// ExpectedStale is the stale rate propagation alone implies: a block found while the previous one
// is still on its way, 1 - e^(-t/T) for a spread time t and a block interval T.
func ExpectedStale(t, interval time.Duration) float64 {
	if interval <= 0 {
		return 0
	}
	return 1 - math.Exp(-t.Seconds()/interval.Seconds())
}

// Dist is a distribution's summary over a set of values.
type Dist struct {
	N   int     `json:"n"`
	Min float64 `json:"min"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	Max float64 `json:"max"`
}

// Summarize returns the nearest-rank percentiles of vs (negative values, "not reached", are left
// out; N counts the rest).
func Summarize(vs []float64) Dist {
	var xs []float64
	for _, v := range vs {
		if v >= 0 {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return Dist{}
	}
	slices.Sort(xs)
	return Dist{N: len(xs), Min: xs[0], P50: Percentile(xs, 0.5), P95: Percentile(xs, 0.95), Max: xs[len(xs)-1]}
}

// Percentile is the nearest-rank q-percentile of sorted xs (q in (0, 1]).
func Percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// TxSample is one sampled transfer: when it was acknowledged and when each node first knew it
// (offsets; -1 for a node that did not within the bound).
type TxSample struct {
	Hash  string    `json:"hash"`
	Ack   time.Time `json:"-"`
	Known []float64 `json:"known_ms"`
}

// To90 is the offset at which 90% of the nodes knew the transfer, -1 if they never did.
func (s TxSample) To90() float64 {
	var offs []time.Duration
	for _, v := range s.Known {
		if v >= 0 {
			offs = append(offs, time.Duration(v*float64(time.Millisecond)))
		}
	}
	slices.Sort(offs)
	return reachAt(offs, len(s.Known), 0.9)
}

// Traffic groups the peer messages' byte counters (actorchain_p2p_bytes_total, sent) by what they
// carry: blocks (every type named with "block": block, getblocks, and compact relay's types
// once they exist), transfers (tx), announcements (inv, getdata, notfound) and the rest
// (pings, addresses, mempool requests).
type Traffic struct {
	Block    float64 `json:"block"`
	Tx       float64 `json:"tx"`
	Announce float64 `json:"announce"`
	Other    float64 `json:"other"`
}

// Group sums per-type byte counts into a Traffic.
func Group(byMsg map[string]float64) Traffic {
	var t Traffic
	for msg, v := range byMsg {
		switch {
		case strings.Contains(msg, "block"):
			t.Block += v
		case msg == "tx":
			t.Tx += v
		case msg == "inv" || msg == "getdata" || msg == "notfound":
			t.Announce += v
		default:
			t.Other += v
		}
	}
	return t
}

// ParseSent reads the sent counters of a Prometheus text scrape: msg → bytes and msg → messages
// (actorchain_p2p_bytes_total and actorchain_p2p_messages_total, direction "sent").
func ParseSent(r io.Reader) (bytes, msgs map[string]float64, err error) {
	bytes, msgs = map[string]float64{}, map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxRecordLine)
	for sc.Scan() {
		line := sc.Text()
		for _, f := range []struct {
			prefix string
			into   map[string]float64
		}{
			{`actorchain_p2p_bytes_total{direction="sent",msg="`, bytes},
			{`actorchain_p2p_messages_total{direction="sent",msg="`, msgs},
		} {
			rest, ok := strings.CutPrefix(line, f.prefix)
			if !ok {
				continue
			}
			msg, val, ok := strings.Cut(rest, `"} `)
			if !ok {
				return bytes, msgs, fmt.Errorf("metrics: cannot read %q", line)
			}
			var v float64
			if _, err := fmt.Sscan(val, &v); err != nil {
				return bytes, msgs, fmt.Errorf("metrics: %q: %v", line, err)
			}
			f.into[msg] = v
		}
	}
	return bytes, msgs, sc.Err()
}

// Histogram is a Prometheus histogram read from the text exposition: its cumulative bucket
// counts by upper bound (seconds; +Inf included).
type Histogram map[float64]float64

// ParseHistogram reads the buckets of the unlabelled histogram name (name_bucket{le="..."}).
func ParseHistogram(r io.Reader, name string) (Histogram, error) {
	h := Histogram{}
	prefix := name + `_bucket{le="`
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxRecordLine)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		le, val, ok := strings.Cut(rest, `"} `)
		if !ok {
			return h, fmt.Errorf("metrics: cannot read %q", sc.Text())
		}
		var bound, v float64
		if le == "+Inf" {
			bound = math.Inf(1)
		} else if _, err := fmt.Sscan(le, &bound); err != nil {
			return h, fmt.Errorf("metrics: %s bucket %q: %v", name, le, err)
		}
		if _, err := fmt.Sscan(val, &v); err != nil {
			return h, fmt.Errorf("metrics: %s bucket %q: %v", name, le, err)
		}
		h[bound] = v
	}
	return h, sc.Err()
}

// Add adds o's counts to h (histograms of several nodes with the same buckets).
func (h Histogram) Add(o Histogram) {
	for b, v := range o {
		h[b] += v
	}
}

// Count is the number of samples (the +Inf bucket).
func (h Histogram) Count() float64 { return h[math.Inf(1)] }

// Quantile is the upper bound of the bucket that holds the q-th sample (0 < q <= 1): the
// resolution of the buckets, never an interpolation. 0 without samples; a sample beyond the
// last finite bound gives +Inf.
func (h Histogram) Quantile(q float64) float64 {
	n := h.Count()
	if n == 0 {
		return 0
	}
	bounds := slices.Sorted(maps.Keys(h))
	rank := math.Ceil(q * n)
	for _, b := range bounds {
		if h[b] >= rank {
			return b
		}
	}
	return math.Inf(1)
}
