# resend-worker: the whole set-up is `make demo` and `make test`.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# moto_server for the demo and the tests: the one on PATH, else one that
# scripts/moto.sh installs into .venv (saying so in one line), else stop with
# its one-line message saying what to install.
WITH_MOTO  = moto="$$(bash scripts/moto.sh)" && export PATH="$${moto%/*}:$$PATH" &&

.PHONY: all build test test-unit lint demo bench check-deploy clean

all: lint test

build: ## the worker and the Cognito stand-in, in bin/
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/worker ./cmd/worker
	$(GO) build -trimpath -o bin/cognito-emulator ./cmd/cognito-emulator

test: ## unit and integration tests (integration tests start moto_server and the stand-in themselves)
	$(WITH_MOTO) $(GO) test -race -count=1 -timeout 20m ./...

test-unit: ## unit tests only
	$(GO) test -race -count=1 -short ./...

lint: ## gofmt and go vet
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed on:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

demo: build ## a local run end to end: moto, the stand-in, a mixed batch, the worker, the results
	$(WITH_MOTO) $(GO) run ./cmd/demo -bin bin

bench: ## throughput benchmark against moto and the stand-in (prints a table, writes a chart per row into bench-out/)
	$(WITH_MOTO) $(GO) run ./cmd/bench $(BENCH_FLAGS)

check-deploy: ## terraform fmt/validate, compose config, terraform apply of the queues on moto
	bash deploy/check-deploy.sh

clean:
	rm -rf bin bench-out
