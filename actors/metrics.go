package actors

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/actorchain/actorchain/noisep2p"
	"github.com/actorchain/actorchain/supervisor"
)

// metrics are one node's Prometheus families, in a registry of their own (several nodes may run
// in one process). Every family has a value from the first scrape.
type metrics struct {
	reg             *prometheus.Registry
	height          prometheus.Gauge
	peers           *prometheus.GaugeVec
	mempool         prometheus.Gauge
	blocksConnected prometheus.Counter
	txsConnected    prometheus.Counter
	hashes          prometheus.Counter
	syncProgress    prometheus.Gauge
	blockImport     prometheus.Histogram     // consensus: a block with a known parent, checked and stored
	syncBlock       prometheus.Histogram     // a block received during a sync, until consensus answered
	commit          *prometheus.HistogramVec // storage: one write transaction, by commitOps
	tipSwitch       prometheus.Histogram     // a new tip published, until a worker searches on it
	staleStop       prometheus.Histogram     // a new tip published, until a worker's search on the old one stopped
	difficulty      prometheus.Gauge         // the tip's difficulty: genesis target / its target
	blockInterval   prometheus.Histogram     // time between a main-chain block and its parent

}

// latencyHistograms makes the histograms: block import, sync, tip switch, commits, block intervals.
func (m *metrics) latencyHistograms() {
	m.blockImport = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "actorchain_block_import_seconds", Help: "Consensus's handling of a block whose parent is known: checks, then connect, side-chain store or reorg.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	})
	m.syncBlock = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "actorchain_sync_block_seconds", Help: "A block received from the sync peer, from its arrival to consensus's answer (checks, queueing, import).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	})
	m.tipSwitch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "actorchain_miner_tip_switch_seconds", Help: "From consensus publishing a new main-chain tip to a worker searching on a template that builds on it (template, signature, the old search stopped).",
		// 0.1 ms to 3.3 s doubling, and the switch's goal (10 ms, docs/performance.md) as a bound
		// of its own: a report can tell whether a percentile meets it, not only that it lies
		// between 6.4 and 12.8 ms.
		Buckets: withBounds(prometheus.ExponentialBuckets(0.0001, 2, 16), 0.010),
	})
	m.staleStop = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "actorchain_miner_stale_stop_seconds", Help: "From consensus publishing a new main-chain tip, or a worker's last poll before it noticed if later, to that worker's search on the previous tip stopping (wall time: it includes waiting for a CPU; the hashing after the publication is at most one poll's batch). One sample per search that was running on it.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	})
	m.commit = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "actorchain_storage_commit_seconds", Help: "One storage write transaction (with its fsync), by operation.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	}, []string{"op"})
	m.blockInterval = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "actorchain_block_interval_seconds", Help: "Time between a block connected to the main chain and its parent, from the headers' times.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
	})
}

func newMetrics(n *Node) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		height: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "actorchain_chain_height", Help: "Height of the committed main-chain tip.",
		}),
		peers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "actorchain_peers", Help: "Connected peers by direction.",
		}, []string{"direction"}),
		mempool: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "actorchain_mempool_txs", Help: "Transactions pending in the mempool.",
		}),
		blocksConnected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "actorchain_blocks_connected_total", Help: "Blocks connected to the main chain (reorgs included).",
		}),
		txsConnected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "actorchain_txs_connected_total", Help: "Transactions in blocks connected to the main chain.",
		}),
		hashes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "actorchain_miner_hashes_total", Help: "Proof-of-work hashes computed by this node's workers.",
		}),
		syncProgress: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "actorchain_sync_progress", Help: "Sync progress from 0 to 1 (1 when caught up).",
		}),
		difficulty: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "actorchain_difficulty", Help: "Difficulty of the main-chain tip: the genesis target over the tip's target (1 on a fixed-difficulty chain).",
		}),
	}
	m.latencyHistograms()
	for _, op := range commitOps {
		m.commit.WithLabelValues(op)
	}
	m.peers.WithLabelValues("inbound").Set(0)
	m.peers.WithLabelValues("outbound").Set(0)
	m.syncProgress.Set(1)
	m.reg.MustRegister(m.height, m.peers, m.mempool, m.blocksConnected, m.txsConnected, m.hashes, m.syncProgress,
		m.blockImport, m.syncBlock, m.commit, m.tipSwitch, m.staleStop, m.difficulty, m.blockInterval,
		&restartCollector{tree: n.tree}, &trafficCollector{t: &n.traffic},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "actorchain_healthy", Help: "1 when GET /v1/health says the node is healthy, else 0 (CONTRACT §9).",
		}, func() float64 {
			if n.Healthy() {
				return 1
			}
			return 0
		}),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// commitOps are the op labels of actorchain_storage_commit_seconds, one per storage write.
var commitOps = []string{"connect", "put_block", "reorg", "mark_invalid", "mempool", "peers"}

// commitOp names the storage write a message asks for ("" for anything else).
func commitOp(msg any) string {
	switch msg.(type) {
	case *connectBlockRequest, *connectBlocksRequest:
		return "connect"
	case *putBlockRequest:
		return "put_block"
	case *reorgRequest:
		return "reorg"
	case *markInvalidRequest:
		return "mark_invalid"
	case *persistMempoolRequest:
		return "mempool"
	case *putPeersRequest:
		return "peers"
	}
	return ""
}

// observeSince records the time since t0 (for a defer at the start of the timed work).
func observeSince(o prometheus.Observer, t0 time.Time) { o.Observe(time.Since(t0).Seconds()) }

// MetricsHandler serves the node's metrics in the Prometheus text format.
func (n *Node) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{})
}

// restartCollector reads restart counts from the supervision tree at scrape time, so every actor
// has a series from the first scrape and the counts are the tree's own.
type restartCollector struct{ tree *supervisor.Tree }

var restartsDesc = prometheus.NewDesc("actorchain_actor_restarts_total",
	"Restarts and replacements of each supervised actor.", []string{"actor"}, nil)

func (c *restartCollector) Describe(ch chan<- *prometheus.Desc) { ch <- restartsDesc }

func (c *restartCollector) Collect(ch chan<- prometheus.Metric) {
	var walk func(n supervisor.Node, root bool)
	walk = func(n supervisor.Node, root bool) {
		if !root {
			ch <- prometheus.MustNewConstMetric(restartsDesc, prometheus.CounterValue, float64(n.Restarts), n.Name)
		}
		for _, k := range n.Children {
			walk(k, false)
		}
	}
	walk(c.tree.Snapshot(), true)
}

// trafficCollector reads the peer connections' message counts at scrape time: one series per
// direction and message type, every type of the protocol present from the first scrape (other
// types only once seen).
type trafficCollector struct{ t *noisep2p.Traffic }

var (
	p2pBytesDesc = prometheus.NewDesc("actorchain_p2p_bytes_total",
		"Bytes of peer messages as on the wire (payload, header, frame lengths and tags; not the handshake), by direction (sent, received) and message type.",
		[]string{"direction", "msg"}, nil)
	p2pMsgsDesc = prometheus.NewDesc("actorchain_p2p_messages_total",
		"Peer messages by direction (sent, received) and message type.", []string{"direction", "msg"}, nil)
)

func (c *trafficCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- p2pBytesDesc
	ch <- p2pMsgsDesc
}

func (c *trafficCollector) Collect(ch chan<- prometheus.Metric) {
	for typ := 0; typ < 256; typ++ {
		t := uint8(typ)
		sm, sb := c.t.Sent(t)
		rm, rb := c.t.Received(t)
		name := noisep2p.MsgName(t)
		if sm == 0 && rm == 0 && strings.HasPrefix(name, "type-") {
			continue // an unassigned type is listed once seen
		}
		ch <- prometheus.MustNewConstMetric(p2pBytesDesc, prometheus.CounterValue, float64(sb), "sent", name)
		ch <- prometheus.MustNewConstMetric(p2pBytesDesc, prometheus.CounterValue, float64(rb), "received", name)
		ch <- prometheus.MustNewConstMetric(p2pMsgsDesc, prometheus.CounterValue, float64(sm), "sent", name)
		ch <- prometheus.MustNewConstMetric(p2pMsgsDesc, prometheus.CounterValue, float64(rm), "received", name)
	}
}

// withBounds returns buckets with the extra bounds added, in increasing order, without repeats.
func withBounds(buckets []float64, extra ...float64) []float64 {
	return slices.Compact(slices.Sorted(slices.Values(append(buckets, extra...))))
}
