package localnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxNetnsNodes bounds the nodes of the netns mode (one /24, host address .254).
const maxNetnsNodes = 64

// netnsCmdTimeout bounds each ip/tc command.
const netnsCmdTimeout = 10 * time.Second

// Netns is the network of the netns link mode: one namespace per node with an interface eth0
// (address prefix.k+1) on a bridge that lives in a namespace of its own, plus one veth from the
// host into that bridge (address .254) so that the harness reaches the nodes' APIs. Each node's
// eth0 has an htb qdisc with one class per other node (a u32 filter on the destination address);
// the class's leaf qdisc is what a link fault replaces: a pfifo (healthy), a pfifo of limit 0 (a
// cut), or netem (delay and loss) when the kernel has it.
type Netns struct {
	tag    string // chaos-<pid>
	bridge string // namespace holding the bridge
	nodes  []string
	hostIf string
	prefix netip.Prefix
	netem  bool // the kernel has sch_netem: delay and loss are real
	shaped bool // the per-destination qdiscs exist (SetLink works)
	// made lists what exists, so that close removes exactly that.
	madeNS   []string
	madeHost bool
	neigh    map[string]string // the neighbour table limits to restore (neigh.go)
}

// nsName is the namespace prefix of a run: chaos-<pid>. A namespace whose pid no longer runs is
// a leftover of a killed harness and is removed by the next netns run.
var nsNameRE = regexp.MustCompile(`^chaos-([0-9]+)-(br|n[0-9]+)$`)

// NetnsAvailable says why the netns link mode cannot run here (it needs root, ip and tc), or nil.
func NetnsAvailable() error {
	if os.Geteuid() != 0 {
		return errors.New("not running as root")
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not on PATH", tool)
		}
	}
	return nil
}

// ipCmd runs ip or tc with args and returns an error carrying its output.
func ipCmd(ctx context.Context, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, netnsCmdTimeout)
	defer cancel()
	var out bytes.Buffer
	c := exec.CommandContext(ctx, name, args...)
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

func ipOut(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, netnsCmdTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).Output()
	if err != nil {
		return "", fmt.Errorf("ip %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// removeStaleNetns deletes namespaces left by a run (chaos or netsim) whose process is gone.
func removeStaleNetns(ctx context.Context) {
	out, err := ipOut(ctx, "netns", "list")
	if err != nil {
		return
	}
	for _, line := range strings.Split(out, "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		m := nsNameRE.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		_ = ipCmd(ctx, "ip", "netns", "del", name)
	}
}

// freePrefix picks a /24 in 10.213.0.0/16 that overlaps no address or route of the host.
func freePrefix(ctx context.Context) (netip.Prefix, error) {
	routes, err := ipOut(ctx, "-o", "-4", "route", "show", "table", "all")
	if err != nil {
		return netip.Prefix{}, err
	}
	addrs, err := ipOut(ctx, "-o", "-4", "addr")
	if err != nil {
		return netip.Prefix{}, err
	}
	var used []netip.Prefix
	for _, f := range strings.Fields(routes + " " + addrs) {
		if p, err := netip.ParsePrefix(f); err == nil {
			used = append(used, p.Masked())
		} else if a, err := netip.ParseAddr(f); err == nil && a.Is4() {
			used = append(used, netip.PrefixFrom(a, 32))
		}
	}
	start := os.Getpid() % 250
	for i := 0; i < 250; i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, byte(1 + (start+i)%250), 0}), 24)
		free := true
		for _, u := range used {
			if u.Bits() > 0 && u.Overlaps(p) {
				free = false
				break
			}
		}
		if free {
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("no free /24 in 10.213.0.0/16 on this host")
}

// SetupNetns creates the namespaces, the bridge, the veths and, with shaping, the qdiscs of n
// nodes (n*(n-1) htb classes: about 3 tc commands per directed link, which SetLink needs; a
// harness that never cuts a link and delays through the link filter leaves them out). On error
// it removes whatever it made; otherwise the caller removes it all with Close.
func SetupNetns(ctx context.Context, n int, shaping bool) (_ *Netns, err error) {
	if n > maxNetnsNodes {
		return nil, fmt.Errorf("the netns link mode takes at most %d nodes", maxNetnsNodes)
	}
	removeStaleNetns(ctx)
	prefix, err := freePrefix(ctx)
	if err != nil {
		return nil, err
	}
	pid := strconv.Itoa(os.Getpid())
	ns := &Netns{tag: "chaos-" + pid, prefix: prefix, hostIf: "ch" + pid + "h"}
	ns.bridge = ns.tag + "-br"
	defer func() {
		if err != nil {
			_ = ns.Close()
		}
	}()
	if ns.neigh, err = neighbourRoom(n); err != nil {
		return nil, err
	}
	b := &nsBuilder{ctx: ctx, ns: ns}
	b.network(n)
	if !shaping {
		return ns, b.err
	}
	ns.shaped = true
	b.shaping(n)
	if b.err != nil {
		return nil, b.err
	}
	b.probeNetem(n)
	return ns, b.err
}

// nsBuilder runs the ip and tc commands that build a netns network, stopping at the first error
// (kept in err); what it made is recorded in ns for close.
type nsBuilder struct {
	ctx context.Context
	ns  *Netns
	err error
}

func (b *nsBuilder) run(name string, args ...string) {
	if b.err == nil {
		b.err = ipCmd(b.ctx, name, args...)
	}
}

func (b *nsBuilder) addNS(name string) {
	b.run("ip", "netns", "add", name)
	if b.err == nil {
		b.ns.madeNS = append(b.ns.madeNS, name)
	}
	b.run("ip", "-n", name, "link", "set", "lo", "up")
}

// network makes the bridge namespace, one namespace per node with a veth on the bridge, and the
// harness's own veth on it.
func (b *nsBuilder) network(n int) {
	ns := b.ns
	b.addNS(ns.bridge)
	b.run("ip", "-n", ns.bridge, "link", "add", "br0", "type", "bridge")
	b.run("ip", "-n", ns.bridge, "link", "set", "br0", "up")
	for k := 0; k < n; k++ {
		name := fmt.Sprintf("%s-n%d", ns.tag, k)
		port := fmt.Sprintf("p%d", k)
		b.addNS(name)
		ns.nodes = append(ns.nodes, name)
		b.run("ip", "link", "add", "eth0", "netns", name, "type", "veth", "peer", "name", port, "netns", ns.bridge)
		b.run("ip", "-n", name, "addr", "add", ns.Addr(k).String()+"/24", "dev", "eth0")
		b.run("ip", "-n", name, "link", "set", "eth0", "up")
		b.run("ip", "-n", ns.bridge, "link", "set", port, "master", "br0", "up")
	}
	b.run("ip", "link", "add", ns.hostIf, "type", "veth", "peer", "name", "host", "netns", ns.bridge)
	if b.err == nil {
		ns.madeHost = true
	}
	b.run("ip", "-n", ns.bridge, "link", "set", "host", "master", "br0", "up")
	b.run("ip", "addr", "add", ns.hostAddr().String()+"/24", "dev", ns.hostIf)
	b.run("ip", "link", "set", ns.hostIf, "up")
}

// shaping gives each node's eth0 an htb with a default class, and one class per other node
// chosen by destination.
func (b *nsBuilder) shaping(n int) {
	ns := b.ns
	for k := 0; k < n && b.err == nil; k++ {
		b.run("tc", "-n", ns.nodes[k], "qdisc", "add", "dev", "eth0", "root", "handle", "1:", "htb", "default", "1")
		b.run("tc", "-n", ns.nodes[k], "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:1", "htb", "rate", "10gbit", "quantum", "60000")
		for j := 0; j < n; j++ {
			if j == k {
				continue
			}
			class := ns.class(j)
			b.run("tc", "-n", ns.nodes[k], "class", "add", "dev", "eth0", "parent", "1:", "classid", class, "htb", "rate", "10gbit", "quantum", "60000")
			b.run("tc", "-n", ns.nodes[k], "qdisc", "add", "dev", "eth0", "parent", class, "handle", ns.leaf(j), "pfifo", "limit", "1000")
			b.run("tc", "-n", ns.nodes[k], "filter", "add", "dev", "eth0", "parent", "1:", "protocol", "ip", "prio", "1",
				"u32", "match", "ip", "dst", ns.Addr(j).String()+"/32", "flowid", class)
		}
	}
}

// probeNetem finds out whether the kernel has netem: it tries it on one leaf and puts the pfifo
// back.
func (b *nsBuilder) probeNetem(n int) {
	ns := b.ns
	if n < 2 {
		return
	}
	j := 1
	if ipCmd(b.ctx, "tc", "-n", ns.nodes[0], "qdisc", "replace", "dev", "eth0", "parent", ns.class(j), "handle", ns.leaf(j), "netem", "delay", "0ms") == nil {
		ns.netem = true
		b.run("tc", "-n", ns.nodes[0], "qdisc", "replace", "dev", "eth0", "parent", ns.class(j), "handle", ns.leaf(j), "pfifo", "limit", "1000")
	}
}

// Addr is node k's address, hostAddr the harness's.
func (ns *Netns) Addr(k int) netip.Addr {
	b := ns.prefix.Addr().As4()
	b[3] = byte(k + 1)
	return netip.AddrFrom4(b)
}

func (ns *Netns) hostAddr() netip.Addr {
	b := ns.prefix.Addr().As4()
	b[3] = 254
	return netip.AddrFrom4(b)
}

// class and leaf are the htb class and its leaf qdisc handle of the traffic to node j.
func (ns *Netns) class(j int) string { return fmt.Sprintf("1:%x", j+16) }
func (ns *Netns) leaf(j int) string  { return fmt.Sprintf("%x:", j+16) }

// Hosts lists the nodes' addresses.
func (ns *Netns) Hosts() []string {
	out := make([]string, len(ns.nodes))
	for k := range out {
		out[k] = ns.Addr(k).String()
	}
	return out
}

// Command wraps argv to run inside node k's namespace.
func (ns *Netns) Command(k int, argv []string) []string {
	return append([]string{"ip", "netns", "exec", ns.nodes[k]}, argv...)
}

// SetLink sets the traffic from node from to node to. Delay and loss need netem (the caller
// checks Netem); a cut is a pfifo of limit 0, which drops every packet.
func (ns *Netns) SetLink(ctx context.Context, from, to int, l Link) error {
	if !ns.shaped {
		return errors.New("netns: the links of a network set up without shaping cannot be changed")
	}
	args := []string{"-n", ns.nodes[from], "qdisc", "replace", "dev", "eth0", "parent", ns.class(to), "handle", ns.leaf(to)}
	switch {
	case l.Cut && !ns.netem:
		args = append(args, "pfifo", "limit", "0")
	case l.Cut:
		args = append(args, "netem", "loss", "100%")
	case ns.netem && (l.DelayMs > 0 || l.Loss > 0):
		args = append(args, "netem", "delay", strconv.Itoa(l.DelayMs)+"ms", "loss", strconv.FormatFloat(l.Loss*100, 'f', 2, 64)+"%")
	default:
		args = append(args, "pfifo", "limit", "1000")
	}
	return ipCmd(ctx, "tc", args...)
}

// Close deletes every namespace it made (with them the veths and the bridge; the host's veth
// goes with its peer). Idempotent.
func (ns *Netns) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	if ns.madeHost {
		if err := ipCmd(ctx, "ip", "link", "del", ns.hostIf); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
			errs = append(errs, err)
		}
		ns.madeHost = false
	}
	for i := len(ns.madeNS) - 1; i >= 0; i-- {
		if err := ipCmd(ctx, "ip", "netns", "del", ns.madeNS[i]); err != nil {
			errs = append(errs, err)
		}
	}
	ns.madeNS = nil
	if ns.neigh != nil {
		errs = append(errs, restoreNeighbour(ns.neigh))
		ns.neigh = nil
	}
	return errors.Join(errs...)
}

// Netem says whether the kernel has sch_netem, so that delay and loss are real (SetLink); without
// it they must go through the nodes' link filter.
func (ns *Netns) Netem() bool { return ns.netem }

// Prefix is the /24 of the nodes' addresses.
func (ns *Netns) Prefix() netip.Prefix { return ns.prefix }

// ListNetns returns the output of `ip netns list` (tests check that nothing is left behind).
func ListNetns(ctx context.Context) (string, error) { return ipOut(ctx, "netns", "list") }

// Link is the state of the traffic from one node to another: cut, or delayed and lossy. The zero
// Link is a healthy link.
type Link struct {
	Cut     bool    `json:"cut"`
	DelayMs int     `json:"delay_ms"`
	Loss    float64 `json:"loss"`
}
