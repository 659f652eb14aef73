# Actorchain. `make check` is the test command CI runs; `make bench` the benchmarks.
GO        ?= go
PKGS      := ./...
# Property tests draw this many cases (fixed in CI so runs are deterministic in size).
RAPID_CHECKS ?= 100
STATICCHECK_VERSION ?= v0.8.2
FUZZTIME  ?= 3s

.PHONY: all build check fmt vet staticcheck test fuzz bench bench-quick clean

all: build

build:
	$(GO) build -o bin/node ./cmd/node

check: fmt vet staticcheck test fuzz

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck $(PKGS)

test:
	RAPID_CHECKS=$(RAPID_CHECKS) $(GO) test -race -shuffle=on -count=1 -timeout 8m $(PKGS)

# Short runs of every fuzz target (one package and target at a time, as go test requires).
fuzz:
	@./scripts/fuzz.sh $(FUZZTIME)

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
