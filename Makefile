# jsync — all Go commands need the duckdb_arrow build tag (DuckDB's Arrow interface).
GO      ?= go
TAGS    := duckdb_arrow
GOFLAGS_TAGS := -tags=$(TAGS)
BIN     := bin

.PHONY: all build demo test test-short test-long race vet fmt bench bench-after-fetch fuzz docs clean

all: build

build:
	$(GO) build $(GOFLAGS_TAGS) -o $(BIN)/jsync ./cmd/jsync
	$(GO) build $(GOFLAGS_TAGS) -o $(BIN)/jirasim ./cmd/jirasim

demo: build
	$(BIN)/jsync -chdir=examples apply -auto-approve -force -config=quickstart.hcl
	$(BIN)/jsync query examples/jira.duckdb

# The README's test command (CI runs it through .ci/run): vet and gofmt,
# every test, and the race detector on the packages that carry concurrency.
test: vet
	$(GO) test $(GOFLAGS_TAGS) -count=1 -timeout 60m ./...
	$(MAKE) race

test-short:
	$(GO) test $(GOFLAGS_TAGS) -short ./...

test-long:
	JSYNC_LONG=1 $(GO) test $(GOFLAGS_TAGS) -count=1 -timeout 120m ./...

race:
	$(GO) test $(GOFLAGS_TAGS) -race -short -count=1 ./engine/... ./resources/... ./dest/...

vet:
	$(GO) vet $(GOFLAGS_TAGS) ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)

fmt:
	gofmt -w $$(git ls-files '*.go')

docs:
	$(GO) run $(GOFLAGS_TAGS) ./cmd/jsync tables -markdown > docs/tables.md

# Rewrites BENCHMARKS.md, keeping its hand-written notes (see jsyncbench).
bench: build
	./scripts/bench-dest.sh > $(BIN)/bench-dest.md
	$(GO) run $(GOFLAGS_TAGS) ./cmd/jsyncbench -include $(BIN)/bench-dest.md -out BENCHMARKS.md

# The scenarios whose figures depend on when the load runs, with every
# sync set to load = "after_fetch" (scenario 3's requests do not change).
bench-after-fetch: build
	$(GO) run $(GOFLAGS_TAGS) ./cmd/jsyncbench -load after_fetch -scenarios 1,2,4,5 -slow-runs 1 -out BENCHMARKS-after-fetch.md

fuzz:
	./scripts/fuzz.sh 30s

clean:
	rm -rf $(BIN)
