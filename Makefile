# Firebreak: event-driven containment of compromised EC2 instances.
# `make help` lists the targets.

SHELL := /bin/bash
GO ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
DIST := dist

# jsii (CDK for Go) runs a Node child process. Node 20 is past CDK's support
# window, so a Node 22 from the npm registry is provisioned into .tools/ when
# the machine's Node is older. The version is pinned so every machine and CI
# run the same one; the package name carries the CPU.
TOOLS := $(CURDIR)/.tools
NODE_VERSION := 22.23.3
NODE_ARCH := $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x64)
NODE_PKG := node-linux-$(NODE_ARCH)@$(NODE_VERSION)
NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
ifeq ($(shell test $(NODE_MAJOR) -ge 22 && echo yes),yes)
NODE_BIN :=
else
NODE_BIN := $(TOOLS)/node/node_modules/node-linux-$(NODE_ARCH)/bin
export PATH := $(NODE_BIN):$(PATH)
endif
# Tests skip CloudFormation validation (seconds per synth); `make synth`,
# `make deploy` turn it back on.
export CDK_VALIDATION ?= false
# The CDK CLI pinned in package.json, installed by `npm ci` when the lock
# file is newer than node_modules. Context overrides go in CDK_CONTEXT, e.g.
#   make deploy CDK_CONTEXT="-c dryRun=false -c notifyEmail=soc@example.com"
CDK := npx --no-install cdk
CDK_CONTEXT ?=
# node_modules holds Go template files of the CDK CLI: a go.mod there keeps it
# out of ./... (a nested module is not part of this one).
GO_FENCE := (test ! -d node_modules || test -f node_modules/go.mod || echo 'module ignored' > node_modules/go.mod)
NPM_CI := (test node_modules/.package-lock.json -nt package-lock.json || npm ci --no-audit --no-fund --loglevel=error) && $(GO_FENCE)

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-10s %s\n", $$1, $$2}'

.PHONY: node
node: ## Provision a supported Node for jsii (only when the machine's is older than 22)
ifneq ($(NODE_BIN),)
	@test "$$($(NODE_BIN)/node --version 2>/dev/null)" = v$(NODE_VERSION) || (mkdir -p $(TOOLS)/node && npm install --silent --no-audit --no-fund --no-save --prefix $(TOOLS)/node $(NODE_PKG) >/dev/null)
endif

.PHONY: build
build: ## Build an arm64 bootstrap per function into dist/<function>/bootstrap
	@for f in $(FUNCTIONS); do \
		echo "building $$f"; \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -buildvcs=false -ldflags "-s -w" -o $(DIST)/$$f/bootstrap ./functions/$$f || exit 1; \
	done

.PHONY: test
test: node ## Run every test (race detector on), offline
	@# dynalite (package.json) is the DynamoDB the guard's tests run against.
	@$(NPM_CI)
	$(GO) mod download
	$(GO) test -race -count=1 ./...

.PHONY: lint
lint: ## go vet and gofmt
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

EVENT ?=
FORMAT ?= text
MODE ?= inprocess
.PHONY: demo
demo: ## Contain the demo victim in an in-memory AWS (EVENT="a.json b.json", FORMAT=json, MODE=lambda)
	$(GO) run ./internal/cmd/demo -format $(FORMAT) -mode $(MODE) $(EVENT)

SIM_FLAGS ?=
.PHONY: sim
sim: ## Run the wire-level AWS simulator seeded with the demo world (SIM_FLAGS="-throttle 0.3")
	$(GO) run ./internal/cmd/sim $(SIM_FLAGS)

.PHONY: bench
bench: ## Round trips of one containment, then faults, bursts, re-delivery storms and cold start (name: value lines)
	$(GO) test -run '^$$' -bench . -benchtime 10x ./internal/demo/
	$(GO) run ./internal/cmd/loadbench

# The security account's stacks: Firebreak, or Firebreak-<region> for each of
# cdk.json's regions; never the member stack, which belongs in member accounts.
SECURITY_STACKS := 'Firebreak' 'Firebreak-*'
MEMBER_STACK := FirebreakMember

.PHONY: synth
synth: node ## Synthesize the CDK app into cdk.out/ (CloudFormation validation and cdk-nag on); prints every stack's template file
	@$(NPM_CI)
	@# A stale cdk.out/validation-report.json is read back by the CLI: start clean.
	rm -rf cdk.out
	CDK_VALIDATION=true $(CDK) synth --quiet $(CDK_CONTEXT)
	@ls -1 cdk.out/*.template.json

.PHONY: deploy
deploy: node ## Deploy Firebreak into the current account, per Region of cdk.json regions or the CLI's (CDK_CONTEXT="-c key=value ...")
	@$(NPM_CI)
	rm -rf cdk.out
	CDK_VALIDATION=true $(CDK) deploy $(CDK_CONTEXT) $(SECURITY_STACKS)

.PHONY: deploy-member
deploy-member: node ## Deploy the FirebreakMember role into the current (member) account; no CDK bootstrap needed
	@$(NPM_CI)
	rm -rf cdk.out
	CDK_VALIDATION=true $(CDK) deploy $(CDK_CONTEXT) $(MEMBER_STACK)

.PHONY: destroy
destroy: node ## Remove the Firebreak stacks (the evidence bucket, keys and logs are retained)
	@$(NPM_CI)
	$(CDK) destroy $(CDK_CONTEXT) $(SECURITY_STACKS)

.PHONY: clean
clean: ## Remove build outputs
	rm -rf $(DIST) cdk.out
