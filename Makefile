# photonctl: build, test, lint, demo, bench, fuzz, and the static binary,
# install and packages.
# Everything here works on a fresh Debian machine after .ci/run's installs;
# demo, and the tests that need root, want root.

# Go from PATH, else where the README installs it; what make runs finds it too.
GO        ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
ifneq ($(findstring /,$(GO)),)
export PATH := $(patsubst %/,%,$(dir $(GO))):$(PATH)
endif
GOBIN     := $(shell $(GO) env GOPATH)/bin
BIN       := ./photonctl
LAB_ROOT  := /var/lib/photonctl/lab/root
FUZZTIME  ?= 10s
FF_PATH   ?= /usr/local
# The comparison harness is its own Go module (its peers, gnet and friends,
# stay out of photonctl's module graph).
ECHOCOMPARE := internal/echocompare
# NETPERF: PhotonLibOS's net-perf (a Release build of its examples/perf,
# testing on), for make bench to compare with PhotonLibOS's echo server.
NETPERF   ?=
# PHOTON_FSTACK_DEMO: PhotonLibOS's fstack-dpdk-demo, built with
# -DPHOTON_ENABLE_FSTACK_DPDK=ON and relinked against libfstack
# (docs/dataplane.md), for make bench to compare with the fstack engine.
PHOTON_FSTACK_DEMO ?=

# The version stamp (build/version.sh says how each field is made); make
# VERSION=v1.2.3 overrides the version.
VERSION   := $(shell build/version.sh version)
COMMIT    := $(shell build/version.sh commit)
DIRTY     := $(shell build/version.sh dirty)
DATE      := $(shell build/version.sh date)
PKGVERSION := $(shell STAMP_VERSION='$(VERSION)' STAMP_DIRTY='$(DIRTY)' build/version.sh pkgversion)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE) -X main.dirty=$(DIRTY)

# The static binary, man pages, completions and install tree are made under
# BUILD_DIR; the packages go to DIST.
BUILD_DIR ?= _build
DIST      ?= dist
STATIC_CC ?= musl-gcc
PREFIX    ?= /usr/local
DESTDIR   ?=

.PHONY: build static man install package test unit lint crashtest demo bench bench-fstack fstack fuzz clean e2e e2e-deps

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/photonctl

## test: lint, then every test (root-only tests skip, saying why, without root)
test: lint unit

unit:
	$(GO) test -count=1 ./...
	cd $(ECHOCOMPARE) && $(GO) test -count=1 ./...

## crashtest: setup killed at each of its changes in turn on fixture hosts,
## then the next run and rollback checked (needs root: network namespaces)
crashtest:
	@log=$$(mktemp); status=0; \
	  PHOTONCTL_CRASHTEST=all $(GO) test -count=1 -timeout 20m -run '^TestCrashAtEveryWrite$$' -v ./cmd/photonctl >$$log 2>&1 || status=$$?; \
	  grep -E '^(\s*---|ok|FAIL|PASS)|kill points|crash_test|needs root' $$log; rm -f $$log; exit $$status

$(GOBIN)/staticcheck:
	$(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: $(GOBIN)/staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags gendocs ./cmd/photonctl
	$(GOBIN)/staticcheck ./...
	$(GOBIN)/staticcheck -tags gendocs ./cmd/photonctl
	@cd $(ECHOCOMPARE) && $(GO) mod tidy -diff >/dev/null 2>&1 || { echo "$(ECHOCOMPARE)/go.mod is not tidy (photonctl's dependencies changed?): cd $(ECHOCOMPARE) && go mod tidy"; exit 1; }
	cd $(ECHOCOMPARE) && $(GO) vet ./... && $(GOBIN)/staticcheck ./...
	@if command -v ansible-lint >/dev/null; then cd deploy/ansible && ansible-lint --nocolor -q; \
	  else echo "(ansible-lint is not installed: deploy/ansible is not linted; apt-get install ansible-lint)"; fi

# ENGINE=fstack runs the demo's echo on F-Stack (needs libfstack under FF_PATH).
ENGINE    ?= kernel
ifeq ($(ENGINE),fstack)
DEMO_BUILD := fstack
ECHO_FLAGS := --engine fstack --conf $(LAB_ROOT)/etc/f-stack.conf --tap-bridge plab-br
else
DEMO_BUILD := build
ECHO_FLAGS := --engine kernel
endif

## demo: the main job on a lab built on this machine (needs root), torn down at the end
demo: $(DEMO_BUILD)
	@set -e; \
	echo_pid=""; log=$$(mktemp); \
	trap '[ -z "$$echo_pid" ] || kill -INT $$echo_pid 2>/dev/null || true; rm -f $$log; $(BIN) lab down' EXIT; \
	$(BIN) lab up --distro centos7 --engine $(ENGINE); \
	echo; echo '== setup --dry-run on the lab host: the plan (steps not asked for say what they would do), nothing changed'; \
	$(BIN) --root $(LAB_ROOT) setup --dry-run --hugepages 64; \
	echo; echo '== setup on the lab host (hugepages: real in the kernel, files in the lab)'; \
	$(BIN) --root $(LAB_ROOT) setup --only hugepages --hugepages 64 --yes; \
	echo; echo '== setup again: nothing left to do'; \
	$(BIN) --root $(LAB_ROOT) setup --only hugepages --hugepages 64 --yes; \
	echo; echo '== doctor on the lab host'; \
	$(BIN) --root $(LAB_ROOT) doctor --only hugepages; \
	echo; echo '== run echo in photon-lab-a, bench it from photon-lab-b'; \
	ip netns exec photon-lab-a $(BIN) run echo $(ECHO_FLAGS) --listen 10.99.0.1:8080 --stats-interval 0 >$$log 2>&1 & echo_pid=$$!; \
	for i in $$(seq 1 300); do grep -q 'listening on' $$log && break; \
	  kill -0 $$echo_pid 2>/dev/null || { cat $$log; exit 1; }; sleep 0.2; done; \
	grep 'listening on' $$log; \
	ip netns exec photon-lab-b $(BIN) bench echo --addr 10.99.0.1:8080 --duration 3s --conns 20; \
	kill -INT $$echo_pid; wait $$echo_pid; echo_pid=""; grep '^total' $$log

## bench: the echo server comparison (kernel engine, Go net, gnet; with
## NETPERF=path/to/net-perf, PhotonLibOS's server against the kernel engine,
## driven by bench echo and by net-perf's client); as root in a private
## network namespace with only lo. Then bench-fstack (where libfstack is
## under FF_PATH), then the Go benchmarks
bench: build
	cd $(ECHOCOMPARE) && $(GO) build -o $(CURDIR)/echocompare .
	./echocompare -photonctl $(CURDIR)/photonctl $(if $(NETPERF),-netperf $(abspath $(NETPERF))) $(BENCHFLAGS)
	@if [ -f $(FF_PATH)/lib/libfstack.a ]; then $(MAKE) --no-print-directory bench-fstack; \
	else echo "(no $(FF_PATH)/lib/libfstack.a: the fstack engine is not compared; make bench FF_PATH=...)"; fi
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-fstack: in the lab (root, libfstack under FF_PATH), the fstack engine
## against the kernel engine and, with PHOTON_FSTACK_DEMO=path/to/fstack-dpdk-demo,
## against PhotonLibOS's F-Stack demo (the reference then); pingpong at 10 and
## 100 connections and streaming, driven by bench echo and, with NETPERF, by
## net-perf's client
bench-fstack:
	@test -f $(FF_PATH)/lib/libfstack.a || { echo "bench-fstack: no $(FF_PATH)/lib/libfstack.a: give FF_PATH=/path/to/f-stack" >&2; exit 2; }
	cd $(ECHOCOMPARE) && $(GO) build -o $(CURDIR)/echocompare .
	@$(MAKE) --no-print-directory fstack BIN=./photonctl-fstack
	@if [ -z "$(PHOTON_FSTACK_DEMO)" ]; then echo "(no PHOTON_FSTACK_DEMO: PhotonLibOS's F-Stack demo is not compared; make bench PHOTON_FSTACK_DEMO=/path/to/fstack-dpdk-demo, built as docs/dataplane.md says)"; fi
	@set -e; trap './photonctl-fstack lab down' EXIT; ./photonctl-fstack lab up --engine fstack >/dev/null; \
	  echo "== in the lab (DPDK tap device vs the kernel, same veth): fstack engine vs kernel engine$(if $(PHOTON_FSTACK_DEMO), vs PhotonLibOS's F-Stack demo)"; \
	  ./echocompare -lab -conns 10,100 -photonctl $(CURDIR)/photonctl-fstack \
	    $(if $(PHOTON_FSTACK_DEMO),-photon-fstack-demo $(abspath $(PHOTON_FSTACK_DEMO))) $(if $(NETPERF),-netperf $(abspath $(NETPERF))) $(BENCHFLAGS)

## fstack: photonctl with the F-Stack engine, linked against libfstack under FF_PATH
## (an install prefix, headers in include/, or F-Stack's own tree, as its examples use),
## stamped with that F-Stack's release, FF_PATH and FF_FLOW_ISOLATE (doctor says them)
fstack:
	@stamp=$$($(GO) run ./internal/fstackstamp '$(FF_PATH)') || exit 1; \
	  echo "F-Stack stamp: $$stamp"; set -x; \
	  CGO_CFLAGS="-I$(FF_PATH)/include -I$(FF_PATH)/lib" CGO_LDFLAGS="-L$(FF_PATH)/lib" \
	  $(GO) build -tags fstack -ldflags "$(LDFLAGS) $$stamp" -o $(BIN) ./cmd/photonctl

## e2e: the real-host suite (root, QEMU >= 8): a Debian guest in QEMU with an
## Intel IOMMU and an SR-IOV NIC, driven over SSH through setup, its reboots,
## doctor, the echo dataplane, a card moved to another slot, and rollback;
## then the Ansible role (deploy/ansible) run by ansible-playbook against a
## guest, through its reboot (needs ansible-core; TestAnsible alone:
## make e2e E2E_RUN=TestAnsible).
## The guest image is built once from Debian's packages and cached in
## E2E_CACHE (/var/cache/photonctl/e2e) by its recipe's hash.
## photonctl goes into the guest as the .deb make package builds (the role
## installs it itself); bench echo runs from this machine with the same
## static binary.
E2E_TIMEOUT ?= 70m
E2E_RUN     ?= .
e2e: package
	PHOTONCTL_E2E=1 PHOTONCTL_DEB=$(abspath $(DIST))/photonctl_$(PKGVERSION)-1_amd64.deb \
	  PHOTONCTL_BIN=$(abspath $(BUILD_DIR))/photonctl \
	  $(GO) test -count=1 -v -timeout $(E2E_TIMEOUT) -run '$(E2E_RUN)' ./e2e/

## e2e-deps: QEMU >= 8 (from bookworm-backports on Debian 12), debootstrap, ssh
e2e-deps:
	sh e2e/install-deps.sh

## fuzz: every fuzz target for FUZZTIME each
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

## static: one static x86_64 binary, $(BUILD_DIR)/photonctl: musl libc (musl-tools)
## linked in, Go's own DNS and user lookups, no dynamic loader; runs on any
## Linux from CentOS 7 on. The kernel engine and bench echo are in it; the
## fstack engine is not (make fstack links it on the target against its DPDK).
static:
	@command -v $(STATIC_CC) >/dev/null || { echo "make static needs $(STATIC_CC): apt-get install musl-tools" >&2; exit 1; }
	CGO_ENABLED=1 CC=$(STATIC_CC) $(GO) build -trimpath -tags netgo,osusergo \
	  -ldflags '$(LDFLAGS) -s -w -linkmode external -extldflags "-static"' \
	  -o $(BUILD_DIR)/photonctl ./cmd/photonctl

## man: the man pages (one per command) and the bash, zsh and fish completion
## files, generated from the command tree (gen-docs, in a -tags gendocs build only)
man:
	rm -rf $(BUILD_DIR)/man $(BUILD_DIR)/completions
	$(GO) run -tags gendocs ./cmd/photonctl gen-docs --man-dir $(BUILD_DIR)/man \
	  --completion-dir $(BUILD_DIR)/completions --source 'photonctl $(VERSION)' --date $(DATE)

## install: the static binary, man pages, completions, docs, an example host
## spec and the licenses of what the binary links in, under $(DESTDIR)$(PREFIX)
DOCDIR := $(DESTDIR)$(PREFIX)/share/doc/photonctl
install: static man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d $(DOCDIR)/docs $(DOCDIR)/examples
	install -m 0755 $(BUILD_DIR)/photonctl $(DESTDIR)$(PREFIX)/bin/photonctl
	for f in $(BUILD_DIR)/man/*.1; do gzip -9n <$$f >$(DESTDIR)$(PREFIX)/share/man/man1/$${f##*/}.gz; done
	install -m 0644 $(BUILD_DIR)/completions/photonctl.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/photonctl
	install -m 0644 $(BUILD_DIR)/completions/_photonctl $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_photonctl
	install -m 0644 $(BUILD_DIR)/completions/photonctl.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/photonctl.fish
	install -m 0644 README.md $(DOCDIR)/README.md
	install -m 0644 docs/*.md $(DOCDIR)/docs/
	install -m 0644 examples/host.yaml $(DOCDIR)/examples/host.yaml
	rm -rf $(DOCDIR)/licenses
	GO=$(GO) build/licenses.sh $(DOCDIR)/licenses

## package: $(DIST)/photonctl_<pkgversion>-1_amd64.deb and
## $(DIST)/photonctl-<pkgversion>-1.x86_64.rpm, from one description
## (build/nfpm.yaml, nfpm run as a tool of the build/ module), holding what
## make install puts under /usr
package:
	rm -rf $(BUILD_DIR)/stage $(DIST)/photonctl_*.deb $(DIST)/photonctl-*.rpm
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(BUILD_DIR))/stage PREFIX=/usr \
	  VERSION='$(VERSION)' COMMIT=$(COMMIT) DIRTY=$(DIRTY) DATE=$(DATE)
	mkdir -p $(DIST)
	cd build && STAGE=$(abspath $(BUILD_DIR))/stage PKGVERSION='$(PKGVERSION)' \
	  $(GO) tool nfpm package --config nfpm.yaml --packager deb --target $(abspath $(DIST))/photonctl_$(PKGVERSION)-1_amd64.deb
	cd build && STAGE=$(abspath $(BUILD_DIR))/stage PKGVERSION='$(PKGVERSION)' \
	  $(GO) tool nfpm package --config nfpm.yaml --packager rpm --target $(abspath $(DIST))/photonctl-$(PKGVERSION)-1.x86_64.rpm

clean:
	rm -rf $(BIN) ./photonctl-fstack ./echocompare $(BUILD_DIR) $(DIST)
