package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"github.com/actorchain/actorchain/internal/testutil"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/actorchain/actorchain/config"
)

// deployDir is the repository's deploy/ folder (tests run in cmd/node).
const deployDir = "../../deploy"

// TestDeployFilesAgainstRunningNode starts a node in-process and checks the operator files
// against its /metrics: every metric the Grafana dashboard or an alert queries exists, and every
// family the node exports is on the dashboard or in deploy/grafana/left-out.txt with a reason.
func TestDeployFilesAgainstRunningNode(t *testing.T) {
	fams := scrapeRunningNode(t)
	t.Run("grafana", func(t *testing.T) { checkDashboard(t, fams) })
	t.Run("alerts", func(t *testing.T) { checkAlerts(t, fams) })
}

// scrapeRunningNode runs `node run` on a fresh home (mining off) and parses one scrape of its
// /metrics with the Prometheus project's parser.
func scrapeRunningNode(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	home, _ := initHome(t, t.TempDir(), "metrics")
	base := freePorts(t, 2)
	editConfig(t, home, func(c *config.Config) {
		c.P2P.Listen = fmt.Sprintf("127.0.0.1:%d", base)
		c.API.Listen = fmt.Sprintf("127.0.0.1:%d", base+1)
		c.Mining.Enabled = false
	})
	node := cliStart(t, "run", "--home", home)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", base+1)
	var body []byte
	testutil.WaitFor(t, 20*time.Second, "the node serves /metrics", func() bool {
		if node.exited() {
			t.Fatalf("node exited %d:\n%s", node.code, tail(node.err.String(), 20))
		}
		resp, err := hc.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, err = io.ReadAll(resp.Body)
		return err == nil && resp.StatusCode == http.StatusOK
	})
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	if len(fams) < 10 {
		t.Fatalf("only %d families on /metrics", len(fams))
	}
	if code := node.stop(t, 30*time.Second); code != exitOK {
		t.Fatalf("node exit %d", code)
	}
	return fams
}

// seriesFamily maps a metric name a query uses onto the family it belongs to: the name itself,
// or a histogram's or summary's _bucket, _sum or _count series. ok is false for a name the node
// does not export.
func seriesFamily(fams map[string]*dto.MetricFamily, name string) (string, bool) {
	if _, ok := fams[name]; ok {
		return name, true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		base, found := strings.CutSuffix(name, suf)
		if !found {
			continue
		}
		f, ok := fams[base]
		if !ok {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			return base, true
		case dto.MetricType_SUMMARY:
			return base, suf != "_bucket"
		}
	}
	return "", false
}

// grafanaDashboard is the part of the dashboard JSON the test reads.
type grafanaDashboard struct {
	UID        string         `json:"uid"`
	Title      string         `json:"title"`
	Panels     []grafanaPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type grafanaPanel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource json.RawMessage `json:"datasource"`
	Targets    []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // a row's panels
}

func checkDashboard(t *testing.T, fams map[string]*dto.MetricFamily) {
	raw, err := os.ReadFile(filepath.Join(deployDir, "grafana", "actorchain.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("actorchain.json: %v", err)
	}
	if d.UID == "" || d.Title == "" || len(d.Panels) == 0 {
		t.Fatalf("actorchain.json: no uid, title or panels")
	}
	var exprs []string
	ids := map[int]string{}
	var walk func(ps []grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			if prev, dup := ids[p.ID]; dup || p.ID == 0 {
				t.Errorf("panel %q: id %d missing or also used by %q", p.Title, p.ID, prev)
			}
			ids[p.ID] = p.Title
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			if !strings.Contains(string(p.Datasource), "${datasource}") {
				t.Errorf("panel %q: datasource %s is not the dashboard's ${datasource} variable", p.Title, p.Datasource)
			}
			refs := map[string]bool{}
			for _, q := range p.Targets {
				if q.RefID == "" || refs[q.RefID] || strings.TrimSpace(q.Expr) == "" {
					t.Errorf("panel %q: a query without refId or expr, or a repeated refId %q", p.Title, q.RefID)
				}
				refs[q.RefID] = true
				exprs = append(exprs, q.Expr)
			}
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		s, _ := q["query"].(string)
		m := regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*\w+\s*\)$`).FindStringSubmatch(s)
		if m == nil {
			t.Errorf("variable %s: want label_values(metric, label), got %q", v.Name, s)
			continue
		}
		exprs = append(exprs, m[1])
	}

	onDashboard := map[string]bool{}
	for _, e := range exprs {
		for _, name := range promqlMetrics(e) {
			fam, ok := seriesFamily(fams, name)
			if !ok {
				t.Errorf("the dashboard queries %s (in %q), which the node does not export", name, e)
				continue
			}
			onDashboard[fam] = true
		}
	}

	left := readLeftOut(t, filepath.Join(deployDir, "grafana", "left-out.txt"))
	used := make([]bool, len(left))
	for name := range fams {
		if onDashboard[name] {
			continue
		}
		found := false
		for i, l := range left {
			if ok, _ := path.Match(l.pattern, name); ok {
				found, used[i] = true, true
			}
		}
		if !found {
			t.Errorf("the node exports %s, which is neither on deploy/grafana/actorchain.json nor in left-out.txt with a reason", name)
		}
	}
	for i, l := range left {
		if !used[i] {
			t.Errorf("left-out.txt line %d: %q leaves out no family the node exports that is not on the dashboard (stale line)", l.line, l.pattern)
		}
	}
	for name := range fams {
		if strings.HasPrefix(name, "actorchain_") && !onDashboard[name] {
			t.Errorf("%s: every actorchain_ family belongs on the dashboard", name)
		}
	}
	t.Logf("dashboard: %d panels, %d queries, %d of %d families (the rest left out: %d patterns)", len(ids), len(exprs), len(onDashboard), len(fams), len(left))
}

type leftOut struct {
	pattern, reason string
	line            int
}

func readLeftOut(t *testing.T, file string) []leftOut {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []leftOut
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		pattern, reason, _ := strings.Cut(l, " ")
		if strings.TrimSpace(reason) == "" {
			t.Errorf("left-out.txt line %d: %q has no reason", n, pattern)
		}
		if _, err := path.Match(pattern, ""); err != nil {
			t.Errorf("left-out.txt line %d: bad pattern %q: %v", n, pattern, err)
		}
		out = append(out, leftOut{pattern: pattern, reason: strings.TrimSpace(reason), line: n})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// promqlKeywords are the words of PromQL that are not metric names (function names are told by
// the "(" after them).
var promqlKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"and": true, "or": true, "unless": true, "offset": true, "bool": true, "inf": true, "nan": true,
}

var (
	promqlStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promqlMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlVars     = regexp.MustCompile(`\$\{?\w+\}?`)
	promqlIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	promqlNumber   = regexp.MustCompile(`\b\d+(\.\d+)?([eE][-+]?\d+)?[smhdwy]?\b`)
)

// promqlMetrics returns the metric names a PromQL expression selects: what is left of it once
// strings, label matchers, ranges, groupings, dashboard variables, numbers, function calls and
// keywords are taken out. It is enough for the dashboard's and the alerts' queries (its own test
// shows the forms it knows).
func promqlMetrics(expr string) []string {
	s := promqlStrings.ReplaceAllString(expr, " ")
	s = promqlMatchers.ReplaceAllString(s, " ")
	s = promqlRanges.ReplaceAllString(s, " ")
	s = promqlGrouping.ReplaceAllString(s, " ")
	s = promqlVars.ReplaceAllString(s, " ")
	s = promqlNumber.ReplaceAllString(s, " ")
	var out []string
	for _, m := range promqlIdent.FindAllString(s, -1) {
		if strings.HasSuffix(m, "(") || promqlKeywords[strings.ToLower(m)] {
			continue
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

func TestPromqlMetrics(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`actorchain_chain_height`, []string{"actorchain_chain_height"}},
		{`rate(actorchain_blocks_connected_total{instance=~"$instance"}[$__rate_interval]) * 60`, []string{"actorchain_blocks_connected_total"}},
		{`histogram_quantile(0.99, sum by (instance, le) (rate(a_seconds_bucket{op="connect"}[5m])))`, []string{"a_seconds_bucket"}},
		{`rate(x_total[1m]) / ignoring(instance) group_left sum(rate(x_total[1m]))`, []string{"x_total"}},
		{"(actorchain_chain_height unless changes(actorchain_chain_height[15m]) > 0)\nand actorchain_chain_height offset 15m", []string{"actorchain_chain_height"}},
		{`up{job="actorchain"} == 0 and on(instance) time() - process_start_time_seconds > 1e3`, []string{"up", "process_start_time_seconds"}},
		{`sum without (direction) (actorchain_peers) == 0`, []string{"actorchain_peers"}},
		{`go_gc_duration_seconds{instance=~"$instance",quantile="1"}`, []string{"go_gc_duration_seconds"}},
	} {
		if got := promqlMetrics(c.expr); !slices.Equal(got, c.want) {
			t.Errorf("promqlMetrics(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}

// alertRules is the part of alerts.yml the test reads.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert  string            `yaml:"alert"`
			Expr   string            `yaml:"expr"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// checkAlerts: the alerts the issue asks for exist, each has a severity, and every metric they
// query is exported by the node (up aside: Prometheus makes it); then promtool checks the file
// and runs its unit tests, where promtool is installed.
func checkAlerts(t *testing.T, fams map[string]*dto.MetricFamily) {
	file := filepath.Join(deployDir, "prometheus", "alerts.yml")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var r alertRules
	if err := yaml.Unmarshal(raw, &r); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	names := map[string]bool{}
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			names[rule.Alert] = true
			if s := rule.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("alert %s: severity %q, want warning or critical", rule.Alert, s)
			}
			ms := promqlMetrics(rule.Expr)
			if len(ms) == 0 {
				t.Errorf("alert %s: no metric in %q", rule.Alert, rule.Expr)
			}
			for _, m := range ms {
				if _, ok := seriesFamily(fams, m); !ok && m != "up" {
					t.Errorf("alert %s queries %s, which the node does not export", rule.Alert, m)
				}
			}
		}
	}
	for _, want := range []string{"ActorchainNodeUnhealthy", "ActorchainNoPeers", "ActorchainHeightStalled", "ActorchainStaleRateHigh", "ActorchainActorRestartsRising"} {
		if !names[want] {
			t.Errorf("alerts.yml has no %s", want)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool is not installed (Debian package prometheus): alerts.yml was checked against /metrics only, not by promtool")
		return
	}
	if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
	test := exec.Command(promtool, "test", "rules", "alerts_test.yml")
	test.Dir = filepath.Join(deployDir, "prometheus")
	if out, err := test.CombinedOutput(); err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}

// unitFile is a systemd unit: section -> key -> values (a key may repeat).
type unitFile map[string]map[string][]string

func parseUnit(t *testing.T, text string) unitFile {
	u := unitFile{}
	section := ""
	for n, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			section = l[1 : len(l)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok || section == "" {
				t.Fatalf("unit line %d: %q is not KEY=VALUE in a section", n+1, l)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

func (u unitFile) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// TestSystemdUnit checks deploy/systemd/actorchain.service: the hardening an operator expects,
// the one writable path being the home the node runs on, the exit codes that mean "do not
// restart" being the CLI's own (exit 2 and 130, never 1), and `systemd-analyze verify` with no
// complaint (and its offline security score) where systemd-analyze is installed.
func TestSystemdUnit(t *testing.T) {
	file := filepath.Join(deployDir, "systemd", "actorchain.service")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	u := parseUnit(t, string(raw))
	const home = "/var/lib/actorchain"
	for _, c := range []struct{ key, want string }{
		{"User", "actorchain"}, {"Group", "actorchain"},
		{"ProtectSystem", "strict"}, {"ReadWritePaths", home}, {"StateDirectory", "actorchain"},
		{"NoNewPrivileges", "yes"}, {"PrivateTmp", "yes"}, {"ProtectHome", "yes"}, {"PrivateDevices", "yes"},
		{"ProtectKernelTunables", "yes"}, {"ProtectKernelModules", "yes"}, {"ProtectControlGroups", "yes"},
		{"RestrictSUIDSGID", "yes"}, {"LockPersonality", "yes"}, {"MemoryDenyWriteExecute", "yes"},
		{"CapabilityBoundingSet", ""}, {"RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
		{"Restart", "on-failure"}, {"KillSignal", "SIGTERM"}, {"UMask", "0077"},
	} {
		vals := u["Service"][c.key]
		if len(vals) == 0 || vals[len(vals)-1] != c.want {
			t.Errorf("[Service] %s=%q, want %q", c.key, vals, c.want)
		}
	}
	if u.get("Service", "ProcSubset") == "pid" {
		t.Error("ProcSubset=pid hides /proc/stat: process_start_time_seconds (on the dashboard) disappears")
	}
	exec := strings.Fields(u.get("Service", "ExecStart"))
	if len(exec) < 4 || exec[1] != "run" || !slices.Contains(exec, "--home") || exec[slices.Index(exec, "--home")+1] != home {
		t.Errorf("ExecStart %q: want `... run --home %s`", exec, home)
	}
	if u.get("Service", "Environment") != "ACTORCHAIN_HOME="+home {
		t.Errorf("Environment=%q: want ACTORCHAIN_HOME=%s (for the operator's own commands)", u.get("Service", "Environment"), home)
	}
	prevent := strings.Fields(u.get("Service", "RestartPreventExitStatus"))
	for _, code := range []int{exitUsage, exitForced} {
		if !slices.Contains(prevent, strconv.Itoa(code)) {
			t.Errorf("RestartPreventExitStatus=%q lacks %d", prevent, code)
		}
	}
	if slices.Contains(prevent, strconv.Itoa(exitFailure)) {
		t.Errorf("RestartPreventExitStatus=%q has %d: a runtime failure must be restarted", prevent, exitFailure)
	}
	if u.get("Unit", "StartLimitBurst") == "" || u.get("Unit", "StartLimitIntervalSec") == "" {
		t.Error("[Unit] has no StartLimitBurst/StartLimitIntervalSec: a crash loop would go on for ever")
	}
	sysusers, err := os.ReadFile(filepath.Join(deployDir, "systemd", "actorchain.sysusers.conf"))
	if err != nil || !regexp.MustCompile(`(?m)^u actorchain .* `+home+` `).Match(sysusers) {
		t.Errorf("actorchain.sysusers.conf does not create user actorchain with home %s: %v", home, err)
	}

	analyze, err := execLookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze is not installed: the unit was not verified by systemd")
		return
	}
	// verify also checks that ExecStart's binary exists: point it at this test binary.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyUnit := filepath.Join(dir, "actorchain.service")
	text := strings.Replace(string(raw), "ExecStart="+exec[0]+" ", "ExecStart="+self+" ", 1)
	if err := os.WriteFile(copyUnit, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := execCommand(analyze, "verify", copyUnit).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	sec, err := execCommand(analyze, "security", "--offline=true", copyUnit).CombinedOutput()
	if err != nil {
		t.Logf("systemd-analyze security --offline is not available here: %v", err)
		return
	}
	m := regexp.MustCompile(`Overall exposure level for actorchain.service: ([0-9.]+)`).FindSubmatch(sec)
	if m == nil {
		t.Fatalf("systemd-analyze security printed no exposure level:\n%s", sec)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2.0 {
		t.Errorf("exposure level %.1f, want at most 2.0 (systemd-analyze security):\n%s", level, sec)
	}
	t.Logf("systemd-analyze verify: clean; security exposure %s", m[1])
}

// execLookPath and execCommand are os/exec's, named so that TestSystemdUnit can call its
// ExecStart fields exec.
var (
	execLookPath = exec.LookPath
	execCommand  = exec.Command
)
