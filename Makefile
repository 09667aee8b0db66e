# Tollgate developer commands. `make run` and `make test` are the two a
# newcomer needs; the rest are for working on the gateway.
GO      ?= go
BIN     := bin/tollgate
RUN_DIR := .run
FUZZTIME ?= 10s

.PHONY: all generate check-generated build run test unit fuzz bench lint

all: build

## generate: rewrite gen/ from openapi/gateway.yml
generate:
	$(GO) tool oapi-codegen -config openapi/oapi-codegen.yml openapi/gateway.yml

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
	$(GO) test -count=1 -run '^$$' -fuzz '^FuzzControlAPI$$' -fuzztime $(FUZZTIME) ./gateway/controlapi/

## bench: control-API throughput (key create and get) on both stores, and store benchmarks
bench:
	$(GO) test -count=1 -run '^$$' -bench . -benchmem ./gateway/controlapi/ ./gateway/storage/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
