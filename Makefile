# Actorchain. `make check` is the test command CI runs; `make bench` the benchmarks; `make soak` the
# long crash-safety soak (docs/soak.md).
GO        ?= go
PKGS      := ./...
# Property tests draw this many cases (fixed in CI so runs are deterministic in size).
RAPID_CHECKS ?= 100
STATICCHECK_VERSION ?= v0.8.2
# Time per fuzz target: `make check` keeps it short; `make fuzz FUZZTIME=60s` for a real run.
FUZZTIME  ?= 3s
# Crash-safety soak: kill -9 cycles (make check's go test runs 3), SOAK_SEED replays a schedule
# (default: from the clock; the test logs it), SOAK_FLAGS e.g. -race.
SOAK_CYCLES ?= 200
SOAK_SEED ?=
SOAK_FLAGS ?=
# The acknowledgement stress test of make soak (TestAckStress): stop, crash, kill -9 and storage
# faults with submissions, group commits and block connects in flight, until this many
# acknowledgements are checked (make check runs 600).
ACK_STRESS_ACKS ?= 100000
# `make chaos`: one seeded chaos run per seed, each for CHAOS_DURATION (docs/chaos.md).
CHAOS_SEEDS    ?= 1 2 3 4 5 6 7 8 9 10
CHAOS_DURATION ?= 60s
CHAOS_FLAGS    ?=
# `make netsim`: the measured network of docs/performance.md (node netsim), NETSIM_FLAGS e.g.
# "--nodes 32 --blocks 60"; netsim-short is make check's small run.
NETSIM_FLAGS   ?=

.PHONY: all build check fmt vet staticcheck deploy-check test fuzz chaos-short chaos netsim-short netsim soak addr-flood bench bench-quick clean browser-note dashboard-screenshot

all: build

# `node version` reads the revision from the build info; where the go command does not stamp one
# (GOFLAGS=-buildvcs=false, a git worktree) these linker flags give it.
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null)
MODIFIED  ?= $(shell test -n "$$(git status --porcelain --untracked-files=no 2>/dev/null)" && echo true)
LDFLAGS   ?= -X main.ldRevision=$(REVISION) -X main.ldModified=$(MODIFIED)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/node ./cmd/node

check: fmt vet staticcheck deploy-check test fuzz chaos-short netsim-short browser-note

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck $(PKGS)

# The operator files in deploy/: the alerting rules and their unit tests with promtool (Debian's
# prometheus package), the systemd unit with systemd-analyze verify, each when installed (a missing
# tool is said, not failed). The Go tests in cmd/node check the same files against a running
# node's /metrics (deploy_test.go).
deploy-check:
	@if command -v promtool >/dev/null 2>&1; then \
		promtool check rules deploy/prometheus/alerts.yml && \
		(cd deploy/prometheus && promtool test rules alerts_test.yml); \
	else echo "deploy-check: promtool not installed (Debian package prometheus): alerts.yml NOT checked"; fi
	@if command -v systemd-analyze >/dev/null 2>&1; then \
		d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
		sed "s#^ExecStart=/usr/local/bin/actorchain-node #ExecStart=$$(command -v true) #" \
			deploy/systemd/actorchain.service > "$$d/actorchain.service" && \
		out=$$(systemd-analyze verify "$$d/actorchain.service" 2>&1) && [ -z "$$out" ] && \
		echo "deploy-check: systemd-analyze verify actorchain.service: clean" || \
		{ echo "deploy-check: systemd-analyze verify actorchain.service:"; echo "$$out"; exit 1; }; \
	else echo "deploy-check: systemd-analyze not installed: actorchain.service NOT checked"; fi

test:
	RAPID_CHECKS=$(RAPID_CHECKS) $(GO) test -race -shuffle=on -count=1 -timeout 8m $(PKGS)

# Every fuzz target for FUZZTIME, one package and target at a time (as go test requires), each from
# its committed seed corpus in testdata/fuzz/; FUZZ_PARALLEL and FUZZ_TARGETS: see scripts/fuzz.sh.
fuzz:
	@./scripts/fuzz.sh $(FUZZTIME)

# A short chaos mix with a fixed seed (every fault kind, about a minute): part of check.
chaos-short: build
	./bin/node chaos --seed 7 --duration 40s $(CHAOS_FLAGS)

# The summary's last line: whether the dashboard's browser tests (dashboard/, headless Chromium)
# ran or were skipped for want of a browser (they look for the same names; .ci/run installs it).
browser-note:
	@b=$${CHROMIUM:-$$(command -v chromium chromium-browser google-chrome google-chrome-stable 2>/dev/null | head -1)}; \
	if [ -n "$$b" ]; then echo "browser tests: run in $$("$$b" --version 2>/dev/null | head -1) ($$b)"; \
	else echo "WARNING: no Chromium found: the dashboard's browser tests were SKIPPED (apt-get install chromium)"; fi

# docs/dashboard.png: node0's dashboard of a 3-node devnet (child processes of the built binary)
# after a minute of mining, in headless Chromium (dashboard/devnet_test.go).
dashboard-screenshot:
	DASHBOARD_SCREENSHOT=$(CURDIR)/docs/dashboard.png $(GO) test -count=1 -v -timeout 5m -run '^TestDevnetDashboard$$' ./dashboard/

# A small measured network (8 nodes, 10 blocks at about 1 s, under a minute): part of check. It
# fails when a check fails (one tip, transfers mined once, verify, the nodes' records), not on
# the figures, which are noisy at this size.
netsim-short: build
	./bin/node netsim --nodes 8 --blocks 10 --block-time 1s --idle 3s --warmup 20s --addr-sample-every 10s \
		--tx-interval 500ms --tx-sample-every 1s --base-port 7900 $(NETSIM_FLAGS)

# The measured network at the issue's size (64 nodes, 100 blocks at about 5 s; about 12 minutes).
netsim: build
	./bin/node netsim $(NETSIM_FLAGS)

# The long chaos run: every seed of CHAOS_SEEDS in a row; stops at the first failed seed.
chaos: build
	@for s in $(CHAOS_SEEDS); do \
		echo "== chaos seed $$s"; \
		./bin/node chaos --seed $$s --duration $(CHAOS_DURATION) $(CHAOS_FLAGS) || { echo "chaos seed $$s failed"; exit 1; }; \
	done

# The crash-safety soak: a node process killed with SIGKILL SOAK_CYCLES times during heavy block
# connects, reorgs and mempool writes; after each restart Verify, the state against a reference
# store that never crashed, and every acknowledged transfer are checked. Then the acknowledgement
# stress test (ACK_STRESS_ACKS). Prints their figures; SOAK_FLAGS=-race runs them under the race
# detector.
soak:
	SOAK_CYCLES=$(SOAK_CYCLES) SOAK_SEED=$(SOAK_SEED) ACK_STRESS_ACKS=$(ACK_STRESS_ACKS) \
		$(GO) test -count=1 -timeout 3h -v $(SOAK_FLAGS) \
		-run '^(TestCrashSafetySoak|TestAckStress)$$' ./resilience_test/

# The address-flood figure asserted (issue 9 §4), without the race detector that make check's run
# has (there it asserts only that no storage request times out).
addr-flood:
	$(GO) test -count=1 -v -run '^TestAddrFloodCostsLittle$$' ./resilience_test/

# The micro-benchmarks of every package, then the harness (docs/performance.md): the table of
# figures next to their limits. resilience_test's benchmarks are the harness's figures (the same
# code), so they are left to the harness here.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list $(PKGS) | grep -v /resilience_test)
	./bin/node bench

# The harness at small sizes: the table's shape in under a minute, not its figures.
bench-quick: build
	./bin/node bench --quick

clean:
	rm -rf bin
