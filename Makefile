# Actorchain. `make check` is the test command CI runs; `make bench` the benchmarks.
GO        ?= go
PKGS      := ./...
# Property tests draw this many cases (fixed in CI so runs are deterministic in size).
RAPID_CHECKS ?= 100
STATICCHECK_VERSION ?= v0.8.2
FUZZTIME  ?= 3s
# `make chaos`: one seeded chaos run per seed, each for CHAOS_DURATION (docs/chaos.md).
CHAOS_SEEDS    ?= 1 2 3 4 5 6 7 8 9 10
CHAOS_DURATION ?= 60s
CHAOS_FLAGS    ?=

.PHONY: all build check fmt vet staticcheck test fuzz chaos-short chaos bench clean

all: build

build:
	$(GO) build -o bin/node ./cmd/node

check: fmt vet staticcheck test fuzz chaos-short

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

# A short chaos mix with a fixed seed (every fault kind, about a minute): part of check.
chaos-short: build
	./bin/node chaos --seed 7 --duration 40s $(CHAOS_FLAGS)

# The long chaos run: every seed of CHAOS_SEEDS in a row; stops at the first failed seed.
chaos: build
	@for s in $(CHAOS_SEEDS); do \
		echo "== chaos seed $$s"; \
		./bin/node chaos --seed $$s --duration $(CHAOS_DURATION) $(CHAOS_FLAGS) || { echo "chaos seed $$s failed"; exit 1; }; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf bin
