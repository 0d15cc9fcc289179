# grantmirror — `make help` lists the targets.
GO        ?= go
BIN       ?= bin/grantmirror
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/grantmirror/grantmirror/internal/cli.Version=$(VERSION)
DEMO_DATA ?= testdata/sample/acme
DEMO_OUT  ?= ./grantmirror-data
BENCH     ?= .
HELM      ?= $(shell command -v helm 2>/dev/null || echo $$($(GO) env GOPATH)/bin/helm)

.PHONY: help build test demo lint bench helm-lint tools

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/grantmirror
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/grantmirror

test: ## run every test (needs PostgreSQL at 127.0.0.1:5432, see README)
	$(GO) test -race -count=1 ./...

demo: build ## mirror the bundled sample account into ./grantmirror-data and ask it questions
	$(BIN) sync --config $(DEMO_DATA)/config.yaml --source dir:$(DEMO_DATA) --target dir:$(DEMO_OUT) --log-level warn
	$(BIN) report --target dir:$(DEMO_OUT) --by access --format csv --out $(DEMO_OUT)/access.csv
	@echo "first rows of $(DEMO_OUT)/access.csv:" && head -n 6 $(DEMO_OUT)/access.csv
	$(BIN) explain --config $(DEMO_DATA)/config.yaml --target dir:$(DEMO_OUT) alice.martin@acme.example SALES.PUBLIC.ORDERS SELECT
	@$(BIN) explain --config $(DEMO_DATA)/config.yaml --target dir:$(DEMO_OUT) carol.smith@acme.example SALES.PUBLIC.ORDERS SELECT || echo "(exit code 1: denied, with the reasons above)"

lint: ## gofmt, go vet, and staticcheck when installed
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null; then staticcheck ./...; else echo "staticcheck not installed; skipped"; fi

bench: ## run the benchmarks (BENCH=regexp to pick); see BENCHMARKS.md
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -timeout 60m ./...

helm-lint: ## lint and render the Helm chart
	$(HELM) lint charts/grantmirror -f charts/testdata/minimal-values.yaml
	$(HELM) template grantmirror charts/grantmirror -f charts/testdata/minimal-values.yaml >/dev/null

tools: ## install helm for the chart tests
	@command -v helm >/dev/null || test -x $$($(GO) env GOPATH)/bin/helm || $(GO) install helm.sh/helm/v3/cmd/helm@v3.22.0
