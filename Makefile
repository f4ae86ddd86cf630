# photonctl: build, test, lint, demo, bench, fuzz.
# Everything here works on a fresh Debian machine after .ci/run's installs;
# demo, and the tests that need root, want root.

GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
BIN       := ./photonctl
LAB_ROOT  := /var/lib/photonctl/lab/root
FUZZTIME  ?= 10s
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)

.PHONY: build test unit lint demo bench fuzz clean

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/photonctl

## test: lint, then every test (root-only tests skip, saying why, without root)
test: lint unit

unit:
	$(GO) test -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GOBIN)/staticcheck ./...

## demo: the main job on a lab built on this machine (needs root), torn down at the end
demo: build
	@set -e; \
	trap '$(BIN) lab down' EXIT; \
	$(BIN) lab up --distro centos7; \
	echo; echo '== setup --dry-run on the lab host'; \
	$(BIN) --root $(LAB_ROOT) setup --dry-run --hugepages 64; \
	echo; echo '== setup on the lab host'; \
	$(BIN) --root $(LAB_ROOT) setup --only hugepages --hugepages 64 --yes; \
	echo; echo '== setup again: nothing left to do'; \
	$(BIN) --root $(LAB_ROOT) setup --only hugepages --hugepages 64 --yes; \
	echo; echo '== doctor on the lab host'; \
	$(BIN) --root $(LAB_ROOT) doctor --only hugepages

## bench: Go benchmarks of the hot paths
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## fuzz: every fuzz target for FUZZTIME each
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

clean:
	rm -f $(BIN)
