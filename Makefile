# escrowtrace — two commands for a newcomer: `make demo` and `make test`.
# Everything they need (Debian's monero package, a local Jaeger) is installed here.

SHELL       := /bin/bash
GO          ?= go
export PATH := /usr/local/go/bin:$(PATH)
BIN         := $(CURDIR)/bin
JAEGER      := $(BIN)/jaeger
JAEGER_VER  := v1.76.0
COLLECTOR   := $(BIN)/escrowtrace-collector
ARGS        ?=

# Tests and the demo find the local Jaeger and the collector through these.
export ESCROWTRACE_JAEGER := $(JAEGER)
export ESCROWTRACE_COLLECTOR := $(COLLECTOR)

.PHONY: all tools browser jaeger jaeger-run jaeger-up jaeger-down collector build demo test bench bench-collector fuzz vet fmt clean

all: build

## tools: install monero-wallet-rpc/-cli (Debian package `monero`) when missing.
## browser: headless chromium (Debian package `chromium`) for the report's browser tests.
tools:
	@$(call apt_need,monero,monero-wallet-rpc monero-wallet-cli)
browser:
	@$(call apt_need,chromium,chromium)

# apt_need PACKAGE,COMMANDS: install PACKAGE with apt when a command is missing
# (as root), else say how.
define apt_need
	ok=1; for c in $(2); do command -v $$c >/dev/null || ok=0; done; \
	if [ $$ok = 1 ]; then \
		echo "$(1): $$(command -v $(firstword $(2))) present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "$(1): installing Debian package $(1)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q $(1); \
	else \
		echo "$(1) is missing. Install it with: sudo apt-get update && sudo apt-get install -y $(1)" >&2; \
		exit 1; \
	fi
endef

## jaeger: build Jaeger v2 from the Go module proxy into bin/jaeger (once, ~3 min).
jaeger: $(JAEGER)

$(JAEGER): deploy/jaeger/tool/go.mod deploy/jaeger/tool/go.sum
	@echo "jaeger: building Jaeger $(JAEGER_VER) from source modules into $@ (takes a few minutes, once)"
	@mkdir -p $(BIN)
	cd deploy/jaeger/tool && $(GO) build -buildvcs=false -o $@ github.com/jaegertracing/jaeger/cmd/jaeger
	@touch $@

## jaeger-run: run the local Jaeger in the foreground (OTLP 127.0.0.1:4317/4318, API 127.0.0.1:16686);
## traces are kept in jaeger-data/ (Badger, 7 days) across restarts.
jaeger-run: $(JAEGER)
	JAEGER_DATA_DIR=$(CURDIR)/jaeger-data JAEGER_UI_CONFIG=$(CURDIR)/deploy/jaeger/ui-config.json \
		$(JAEGER) --config=file:deploy/jaeger/config-local.yaml

## jaeger-up / jaeger-down: Jaeger with its UI from the official image, where Docker runs.
jaeger-up:
	docker compose -f deploy/jaeger/compose.yaml up -d --wait
jaeger-down:
	docker compose -f deploy/jaeger/compose.yaml down

## collector: build the escrowtrace OpenTelemetry Collector (module collector/, run with
## deploy/collector/config.yaml) into bin/escrowtrace-collector (a few minutes the first time).
## It is built from this repository's library (replace ../), so any library source rebuilds it.
collector: $(COLLECTOR)

COLLECTOR_SRC := $(shell find . -name '*.go' -not -name '*_test.go' -not -path './bin/*')
$(COLLECTOR): collector/go.mod collector/go.sum go.mod go.sum $(COLLECTOR_SRC)
	@echo "collector: building $@ (the Collector and its components from the Go module proxy: minutes the first time)"
	@mkdir -p $(BIN)
	cd collector && $(GO) build -buildvcs=false -o $@ ./cmd/escrowtrace-collector
	@touch $@

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/escrowtrace ./cmd/escrowtrace

## demo: a real instrumented 2-of-3 escrow setup. Try ARGS="--escrows 3 --rpc shared".
## With --processes in ARGS it needs the collector, which it builds first.
demo: tools build $(if $(findstring processes,$(ARGS)),collector)
	ENABLE_INSTRUMENTATION=1 $(BIN)/escrowtrace demo $(ARGS)

## vet: go vet, gofmt, and go.mod/go.sum as `go mod tidy` would leave them, in the library's
## module and in the collector's (collector/).
vet:
	$(GO) vet ./...
	cd collector && $(GO) vet ./...
	@for m in . collector; do \
		(cd $$m && $(GO) mod tidy -diff >/dev/null) || { echo "$$m/go.mod, go.sum are not tidy: run go mod tidy in $$m (go mod tidy -diff shows what it changes)" >&2; (cd $$m && $(GO) mod tidy -diff) >&2; exit 1; }; \
	done
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed: $$out" >&2; exit 1; fi

## test: everything, against real monero-wallet-rpc processes, a real Jaeger and the built
## collector; the collector module's tests too. It ends with one iteration of every benchmark
## of both modules, so that they keep compiling and running.
test: tools browser jaeger collector vet
	$(GO) test -race -count=1 -timeout 30m ./...
	cd collector && $(GO) test -race -count=1 -timeout 30m ./...
	$(GO) test -run '^$$' -bench . -benchtime=1x -count=1 -timeout 20m ./...
	cd collector && $(GO) test -run '^$$' -bench . -benchtime=1x -count=1 -timeout 20m ./...

## bench: the benchmarks behind BENCHMARKS.md (~8 min on an idle 2-core box; run it idle).
## Raw go test output goes to raw.bench.txt, the benchstat comparisons to stat.bench.txt.
BENCHSTAT := $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
# One comparison per benchmark: each variant against the baseline measured in
# the same run (the first /mode); collector-down against collector up.
BENCH_CMP := .name:RecordedCall .name:RPCDisabled .name:RPCEnabled .name:RPCReal .name:CallHotPath .name:Middleware .name:Setup2of3 \
	'.name:Setup2of3 /mode:(enabled OR collector-down)'
bench: tools jaeger
	@echo "bench: $$(nproc) cores, $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $$($(GO) version); load average $$(cut -d' ' -f1-3 /proc/loadavg)"
	@# -count=6 would repeat each sub-benchmark six times back to back, so a
	@# baseline and its variant would be measured minutes apart; six rounds of
	@# -count=1 interleave them (see BENCHMARKS.md).
	rm -f raw.bench.txt
	set -o pipefail; for round in 1 2 3 4 5 6; do \
		$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 30m ./benchmarks/ ./exporter/jsonfile/ | tee -a raw.bench.txt || exit 1; \
	done
	set -o pipefail; { for f in $(BENCH_CMP); do echo "### $$f"; $(BENCHSTAT) -filter "$$f" -col /mode raw.bench.txt || exit 1; echo; done; \
		echo "### exporter/jsonfile"; $(BENCHSTAT) -filter '.name:/^Exporter/' raw.bench.txt; } | tee stat.bench.txt

## bench-collector: the collector's benchmarks behind BENCHMARKS.md's "Issue 12" (~10 min idle):
## end to end through the built collector beside Jaeger (files in $TMPDIR, as users run it), and
## the escrowjson exporter in-process against exporter/jsonfile (files on tmpfs, /dev/shm, so that
## the front ends and not the disk are compared). Six interleaved rounds; raw output goes to
## raw.bench-collector.txt, the comparisons to stat.bench-collector.txt.
COLLECTOR_BENCH_CMP := .name:Throughput .name:FrontEnds .name:BufferedPerEscrow
bench-collector: jaeger collector
	@echo "bench-collector: $$(nproc) cores, $$($(GO) version); load average $$(cut -d' ' -f1-3 /proc/loadavg)"
	rm -f raw.bench-collector.txt
	set -o pipefail; for round in 1 2 3 4 5 6; do \
		(cd collector && $(GO) test -run '^$$' -bench . -benchtime=1000x -count=1 -timeout 30m ./benchmarks/ && \
		 TMPDIR=/dev/shm $(GO) test -run '^$$' -bench . -benchtime=1000x -count=1 -timeout 30m ./escrowjsonexporter/) | tee -a raw.bench-collector.txt || exit 1; \
	done
	set -o pipefail; { for f in $(COLLECTOR_BENCH_CMP); do echo "### $$f"; $(BENCHSTAT) -filter "$$f" -col /mode raw.bench-collector.txt || exit 1; echo; done; \
		echo "### .name:InFlightMemory"; $(BENCHSTAT) -filter .name:InFlightMemory -col /held raw.bench-collector.txt; echo; \
		echo "### .name:FromPdata"; $(BENCHSTAT) -filter .name:FromPdata raw.bench-collector.txt; } | tee stat.bench-collector.txt

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeReply -fuzztime 60s ./walletrpc

clean:
	rm -rf $(BIN) traces
