package localnet

import (
	"context"
	"fmt"
)

// LinkMode selects how per-link delay, loss and cuts are made.
type LinkMode string

// The link modes. Auto takes netns when it can run (root, ip and tc), else filter.
const (
	LinksAuto   LinkMode = "auto"
	LinksNetns  LinkMode = "netns"
	LinksFilter LinkMode = "filter"
)

// Links is the outcome of SetupLinks: the mode in force, why, and the namespaces in netns mode.
type Links struct {
	Mode LinkMode
	Why  string
	NS   *Netns // nil in filter mode
}

// SetupLinks picks the link mode for n nodes (mode "" is auto) and, for netns, builds the
// namespaces, with the per-link qdiscs when shaping (see SetupNetns). Auto falls back to filter when netns cannot run or its setup fails (Why says so);
// netns asked for explicitly fails instead. The caller closes NS when it is not nil.
func SetupLinks(ctx context.Context, mode LinkMode, n int, shaping bool) (Links, error) {
	if mode == "" {
		mode = LinksAuto
	}
	if mode == LinksFilter {
		return Links{Mode: LinksFilter, Why: "the node's link filter (/v1/debug/links, keyed by peer id), as asked"}, nil
	}
	if err := NetnsAvailable(); err != nil {
		if mode == LinksNetns {
			return Links{}, fmt.Errorf("links netns: %w", err)
		}
		return Links{Mode: LinksFilter, Why: "netns unavailable: " + err.Error()}, nil
	}
	ns, err := SetupNetns(ctx, n, shaping)
	if err != nil {
		if mode == LinksNetns {
			return Links{}, fmt.Errorf("links netns: %w", err)
		}
		return Links{Mode: LinksFilter, Why: "netns setup failed: " + err.Error()}, nil
	}
	why := "one namespace per node on a bridge (" + ns.Prefix().String() + ")"
	switch {
	case !shaping:
		why += "; delay through the node's link filter (/v1/debug/links)"
		return Links{Mode: LinksNetns, Why: why, NS: ns}, nil
	case ns.Netem():
		why += "; cuts by tc (htb + u32 per destination)"
		why += ", delay and loss by tc netem"
	default:
		why += "; cuts by tc (htb + u32 per destination); this kernel has no sch_netem, so delay and loss go through the node's link filter (/v1/debug/links)"
	}
	return Links{Mode: LinksNetns, Why: why, NS: ns}, nil
}

// UsesFilter says whether delay and loss go through the nodes' link filter: always in filter
// mode, and in netns mode on a kernel without netem.
func (l Links) UsesFilter() bool { return l.Mode == LinksFilter || (l.NS != nil && !l.NS.Netem()) }

// Hosts are the n nodes' listen hosts: their namespace addresses, or 127.0.0.1.
func (l Links) Hosts(n int) []string {
	if l.NS != nil {
		return l.NS.Hosts()
	}
	hosts := make([]string, n)
	for k := range hosts {
		hosts[k] = "127.0.0.1"
	}
	return hosts
}

// Command wraps argv to run as node k: inside its namespace in netns mode, as is otherwise.
func (l Links) Command(k int, argv []string) []string {
	if l.NS != nil {
		return l.NS.Command(k, argv)
	}
	return argv
}

// Close removes the namespaces, if any. Idempotent.
func (l Links) Close() error {
	if l.NS != nil {
		return l.NS.Close()
	}
	return nil
}
