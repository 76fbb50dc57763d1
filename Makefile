# Matterly. Every target works on a fresh machine with Go and Node.js.
GO       ?= go
PORT     ?= 8080
FN       ?= accounts
RUNS     ?= 5
EVENT    ?= events/apigw-signup.json
CDK      ?= npx --yes aws-cdk@2.1034.0
CFN_LINT ?= cfn-lint
# An execution count, not a duration: Go 1.26's fuzz coordinator can fail a
# duration run with a spurious "context deadline exceeded" (go.dev/issue/75804).
FUZZTIME ?= 150000x

.PHONY: dev test build synth deploy lint bench invoke coldstart clean

dev: ## the whole system on http://127.0.0.1:$(PORT), embedded stand-ins, no AWS
	PORT=$(PORT) $(GO) run ./scripts/devserver

# The end-to-end tests that race requests against each other (goroutines in
# the test): they also run under -race. A new test of that kind is named to
# match. TestSummaryCreditsNeverOverdraw is left to the run without -race
# (100 s under the detector, 7 s without: each summary reads the PDF), and
# TestCreditsNeverOverdraw races the same credit spends under it.
E2E_RACE ?= Concurren|Parallel|Race|Contention|^TestCreditsNeverOverdraw$$|Locked|Once
# Per test binary, under go test's 10-minute default: a stuck test fails
# with its goroutines dumped, well before CI's own limit.
TEST_TIMEOUT ?= 20m

test: ## all tests: vet, unit tests (race-enabled where goroutines run), end-to-end tests, CDK assertions, a short fuzz run
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	@# Two chains side by side: alone, each run ends in a tail of one package
	@# on one core. The race builds stay in one chain, so a cold build cache
	@# compiles them once. Each chain's output is printed when it ends.
	$(MAKE) --no-print-directory -j2 --output-sync=target test-race-chain test-plain-chain

.PHONY: test-race-chain test-plain-chain
test-race-chain:
	@# Packages whose code or tests can run goroutines run under the race
	@# detector; the others, whose own code starts none, without it (half
	@# the time). scripts/testplan decides from their code: no list to keep.
	@# testplan prints its whole list or fails; a failure stops the chain.
	pkgs=$$(GO=$(GO) $(GO) run ./scripts/testplan race) || exit 1; \
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $$(echo "$$pkgs" | grep -v -e /infra -e /shared/devstack$$)
	@# The vendored minidyn is a module of its own, which ./... does not reach.
	cd third_party/minidyn && $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	@# The end-to-end suite's concurrent flows, again under -race.
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) -run '$(E2E_RACE)' ./shared/devstack

test-plain-chain:
	@# The end-to-end suite (one stack, the own-org tests in parallel) runs
	@# without -race: the detector costs it several times the CPU, and the
	@# unit tests and its concurrent flows under -race (the other chain)
	@# keep it on where goroutines meet. The packages without concurrency
	@# share its run.
	pkgs=$$(GO=$(GO) $(GO) run ./scripts/testplan plain) || exit 1; \
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./shared/devstack $$(echo "$$pkgs" | grep -v -e /infra -e /shared/devstack$$)
	@# The jsii runtime behind CDK has data races of its own, so infra runs without -race.
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./infra/...
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./shared/httpapi

build: ## every function to an arm64 bootstrap, zipped as build/<fn>.zip
	$(GO) run ./scripts/build

synth: build ## the CloudFormation template, written to cdk.out/
	CDK_OUTDIR=cdk.out $(GO) run ./infra
	@ls cdk.out/*.template.json

deploy: build ## deploy to the AWS account of your current credentials
	$(CDK) deploy --app 'go run ./infra' --require-approval broadening

lint: ## gofmt, go vet, staticcheck, cfn-lint on the synthesized template
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@# The template from placeholder function zips: no build, no Docker, no AWS.
	rm -rf cdk.out/lint
	CDK_OUTDIR=cdk.out/lint $(GO) run ./infra -placeholder-code
	@# W3005: CDK adds a DependsOn on each function's role beside the GetAtt
	@# that already orders them; harmless, and not ours to change. Any other
	@# warning or error fails.
	$(CFN_LINT) --ignore-checks W3005 -- cdk.out/lint/*.template.json

bench: ## benchmarks of the request path against the embedded DynamoDB
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./shared/...

invoke: ## run one handler on a sample event: make invoke FN=accounts EVENT=events/apigw-signup.json
	$(GO) run ./scripts/invoke -fn $(FN) -event $(EVENT)

coldstart: ## init duration, first-invoke latency and binary size per HTTP function (RUNS=15 for steadier medians)
	$(GO) run ./scripts/coldstart -runs $(RUNS) -functions $$(grep -l StartHTTP functions/*/main.go | xargs -n1 dirname | xargs -n1 basename | paste -sd, -) -env TABLE_NAME=matterly -env DYNAMODB_ENDPOINT=http://127.0.0.1:1 -env S3_ENDPOINT=http://127.0.0.1:1 -env BUCKET_NAME=matterly-local -env DEV_DATA_DIR=/tmp/matterly-coldstart

clean:
	rm -rf build cdk.out
