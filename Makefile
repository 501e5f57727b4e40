# udrbd build, test and demo entry points. See README.md.
GO        ?= go
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
export CGO_ENABLED := 0

BINS := bin/udrbd bin/drbdsetup bin/drbdmeta bin/ublkfile bin/udrbd-failover

.PHONY: all build nlshim vmtools nlshim-test test unit vet vm-test vm-fetch bench fuzz demo clean

all: build

build: $(BINS)

# Every command lives in cmd/NAME, but for drbdsetup/ (its own top-level home).
bin/drbdsetup: FORCE
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./drbdsetup

bin/%: FORCE
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/$*

FORCE:

# The LD_PRELOAD shim that lets stock drbdsetup-84 talk to udrbd (VM scenario
# stock-drbdsetup); scripts/vm/run copies out/nlshim into the guest's /udrbd/extra.
CC ?= cc
nlshim: out/nlshim/nlshim.so
out/nlshim/nlshim.so: scripts/vm/nlshim/nlshim.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Wextra -shared -fPIC -o $@ $<
# Go tools of the test tree that scenarios run in the guest (scripts/vm/run copies
# out/vm-bin into the guest's /udrbd/bin).
vmtools:
	$(GO) build -trimpath -ldflags '-s -w' -o out/vm-bin/vmsum ./scripts/vm/vmsum
# Host test of the shim against bin/udrbd's control plane (no VM needed).
nlshim-test: build
	./scripts/vm/nlshim/test

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }

# Unit tests: the race detector needs cgo.
unit:
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...

test: vet unit vm-test

# VM scenarios (SCENARIO=name picks one; default: all in scripts/vm/scenarios).
vm-test: build nlshim vmtools
ifeq ($(SCENARIO),)
	./scripts/vm/selftest
endif
	./scripts/vm/run-scenarios $(SCENARIO)

# Every fuzz target for FUZZTIME (default 60s) each.
fuzz:
	./scripts/fuzz

# Benchmarks: Go micro-benchmarks, then every bench-* VM scenario (udrbd and the kernel
# reference side by side in one boot, printed as ratios).
bench: build vmtools
	CGO_ENABLED=1 $(GO) test -run '^$$' -bench . -benchmem ./...
	./scripts/vm/run-scenarios $(patsubst scripts/vm/scenarios/%.sh,%,$(wildcard scripts/vm/scenarios/bench-*.sh))

vm-fetch:
	./scripts/vm/fetch

# The one-node demo: directly where ublk exists, else inside the test VM
# (scenario node-demo runs the same script), printing the transcript.
UDRBD_VM_CACHE ?= $(CURDIR)/.cache/vm
export UDRBD_VM_CACHE
demo: build
	@if [ -e /dev/ublk-control ]; then \
		PATH="$(CURDIR)/bin:$$PATH" ./scripts/demo.sh; \
	else \
		echo "no /dev/ublk-control here: running the demo in the test VM (scripts/vm/run node-demo)"; \
		UDRBD_VM_QUIET=1 UDRBD_VM_EXTRA="$(CURDIR)/scripts" ./scripts/vm/run node-demo; rc=$$?; \
		sed -n '/UDRBD-DEMO-BEGIN/,/UDRBD-DEMO-END/p' out/vm/node-demo.log | grep -v '^UDRBD-DEMO' | grep -v '^\[ *[0-9.]*\]'; \
		exit $$rc; \
	fi

clean:
	rm -rf bin out
