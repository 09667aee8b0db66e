# Tollgate developer commands. `make run` and `make test` are the two a
# newcomer needs; the rest are for working on the gateway.
GO      ?= go
BIN     := bin/tollgate
RUN_DIR := .run
FUZZTIME ?= 10s

.PHONY: all generate generate-openapi generate-proto check-generated build run test unit fuzz bench load lint

all: build

## generate: rewrite gen/ from openapi/gateway.yml, and the plugin protocol
## code under plugins/proto when protoc is installed (CI does not need it)
generate: generate-openapi
	@if command -v protoc >/dev/null 2>&1; then $(MAKE) --no-print-directory generate-proto; \
	else echo "protoc not found: plugins/proto not regenerated (apt-get install protobuf-compiler)"; fi

generate-openapi:
	$(GO) tool oapi-codegen -config openapi/oapi-codegen.yml openapi/gateway.yml

## generate-proto: rewrite the Go code of plugins/proto/*.proto (needs
## protoc; the Go generators are pinned as tools in go.mod)
generate-proto:
	protoc -I plugins/proto \
		--plugin=protoc-gen-go=$$($(GO) tool -n protoc-gen-go) \
		--plugin=protoc-gen-go-grpc=$$($(GO) tool -n protoc-gen-go-grpc) \
		--go_out=. --go_opt=module=github.com/tollgate/tollgate \
		--go-grpc_out=. --go-grpc_opt=module=github.com/tollgate/tollgate \
		plugins/proto/*.proto

## check-generated: fail when gen/ is stale
check-generated: generate
	@git diff --exit-code --stat -- gen/ || { echo "gen/ is stale: run 'make generate' and commit the result"; exit 1; }

build:
	$(GO) build -o $(BIN) ./gateway/cmd/tollgate

## run: start the gateway on the embedded store with the example API and
## policy, and the example echo upstream on 127.0.0.1:8000 behind it
run: build
	@mkdir -p $(RUN_DIR)
	@cp -rn examples/run/apps examples/run/policies $(RUN_DIR)/ 2>/dev/null || true
	$(GO) build -o bin/echo ./examples/echo
	@echo "Control API: http://127.0.0.1:8080/tyk/  secret: tollgate-dev-secret  (data in $(RUN_DIR)/)"
	@echo "Example API: http://127.0.0.1:8080/example/  (upstream: echo on 127.0.0.1:8000)"
	@bin/echo -addr 127.0.0.1:8000 & echo_pid=$$!; trap 'kill $$echo_pid 2>/dev/null' EXIT INT TERM; \
		cd $(RUN_DIR) && ../$(BIN) --conf ../examples/run/tyk.conf

## test: everything CI checks (needs redis-server on PATH for the Redis suites)
test: check-generated lint unit fuzz

unit:
	$(GO) test -count=1 ./...

fuzz:
	@# A fresh corpus cache each run: a corpus grown by earlier runs would
	@# spend the whole time budget on its baseline pass; new inputs are
	@# minimized briefly (each try is an HTTP round trip).
	cache=$$(mktemp -d) && trap 'rm -rf $$cache' EXIT && \
		$(GO) test -count=1 -run '^$$' -fuzz '^FuzzControlAPI$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 20x ./gateway/controlapi/ -args -test.fuzzcachedir=$$cache

## bench: control-API throughput (key create and get) on both stores, and store
## benchmarks, the managed plugin pre-hook round trip; then the data-plane
## load benchmark (see load)
bench:
	$(GO) test -count=1 -run '^$$' -bench . -benchmem ./gateway/controlapi/ ./gateway/storage/... ./middleware/... ./plugins/jsvm/ ./plugins/managed/
	$(GO) run ./gateway/cmd/loadbench $(LOADFLAGS)

## load: data-plane load benchmark: wrk against the upstream, nginx and
## tollgate (keyless, keyed, rate limit + quota on both stores), pinned with
## taskset (needs: apt-get install -y nginx wrk redis-server util-linux).
## Flags via LOADFLAGS, e.g. make load LOADFLAGS='-scenarios keyed -cpuprofile-scenario keyed'
load:
	$(GO) run ./gateway/cmd/loadbench $(LOADFLAGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
