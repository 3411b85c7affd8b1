# stack-auth: one Go engine, a C ABI, thin bindings. README.md explains each target.
SHELL := /bin/bash
GO ?= go
OUT := build/out
# Two cores: keep parallel test binaries to two.
GOTEST_FLAGS ?= -race -p 2 -timeout 20m

# Real prerequisites, so a second `make lib` or `make cli` does nothing: the module's Go sources
# (tests, build tools and bindings aside), the C shim and header, and the build scripts.
VERSION := $(shell bash build/version.sh)
GO_SOURCES := go.mod go.sum $(shell find . \( -path ./build -o -path ./tests -o -path ./bindings -o -path ./examples \
	-o -name testdata -o -name node_modules \) -prune -o -name '*.go' ! -name '*_test.go' -print)
LIB := $(OUT)/lib/libstack_auth.so.1
LIB_SOURCES := $(GO_SOURCES) $(wildcard capi/*.c capi/*.h) include/stack_auth.h build/lib.sh build/zig.sh \
	build/size_gcflags.sh build/exports.map build/stack_auth.pc.in build/gen/tables.json
CLI := $(OUT)/bin/stack-auth

.PHONY: gen lib-target lib-all test-platforms all demo test test-go test-c test-rust test-memory vet lint deps cli lib bench bench-c soak clean node python ruby test-node test-python test-ruby bench-node bench-python bench-ruby dist test-dist test-conformance

all: cli

## deps: install what the tests need and the machine may lack (Go modules, Debian packages)
deps:
	@bash build/setup.sh

## cli: build the stack-auth command into build/out/bin
cli: $(CLI)
$(CLI): $(GO_SOURCES) build/gen/tables.json
	@mkdir -p $(@D)
	$(GO) build -ldflags "-X github.com/stackauth/stack-auth/core.Version=$(VERSION)" -o $@ ./cmd/stack-auth

## lib: build/out/lib/libstack_auth.so, include/stack_auth.h, stack_auth.pc (the host build
## every suite uses); `make lib TARGET=t` builds target t of README.md "Platforms" into build/out/targets/t
lib: $(if $(TARGET),lib-target,$(LIB))
$(LIB): $(LIB_SOURCES)
	@bash build/lib.sh
lib-target:
	@bash build/lib.sh $(TARGET)

## lib-all: the library for all seven targets (build/out/targets/*) and a size table
lib-all:
	@bash build/lib.sh all

## test-platforms: every target's library run here (qemu-user, Wine, musl) or checked (macOS)
test-platforms: cli
	@bash tests/platforms/run.sh

## node, python, ruby: build each binding over build/out/lib (see bindings/*/README.md); each
## rebuilds only when the library or the binding's own sources changed
NODE_ADDON := bindings/node/build/Release/stack_auth.node
node: $(NODE_ADDON)
$(NODE_ADDON): $(LIB) $(wildcard bindings/node/src/*) bindings/node/binding.gyp bindings/node/package.json \
		bindings/node/package-lock.json bindings/node/build.sh
	@bash bindings/node/build.sh
python: $(OUT)/stamps/python
$(OUT)/stamps/python: $(LIB) $(wildcard bindings/python/stack_auth/*.py) bindings/python/stack_auth/py.typed bindings/python/stack_auth_build.py \
		bindings/python/setup.py bindings/python/pyproject.toml bindings/python/build.sh
	@bash bindings/python/build.sh
	@mkdir -p $(@D) && touch $@
ruby: $(OUT)/stamps/ruby
$(OUT)/stamps/ruby: $(LIB) $(wildcard bindings/ruby/lib/*.rb bindings/ruby/lib/stack_auth/*.rb bindings/ruby/exe/*) \
		bindings/ruby/stack_auth.gemspec bindings/ruby/build.sh
	@bash bindings/ruby/build.sh
	@mkdir -p $(@D) && touch $@

test-node test-python test-ruby: test-%: % cli
	@bash bindings/$*/test.sh

bench-node bench-python bench-ruby: bench-%: % cli
	@bash bindings/$*/bench.sh

## test-conformance: one scenario list (tests/conformance/scenarios.json) run in C, Python,
## Ruby and Node against one emulator; fails if any language differs from the expectations
test-conformance: lib cli
	@bash tests/conformance/run.sh

## dist: every package of every target in build/out/dist (README "Packages"): npm main +
## per-platform packages, wheels + sdist, platform gems, C and CLI archives
dist: lib
	@bash build/dist/dist.sh

## test-dist: install the packages as users do (npm ci/rebuild, pnpm, pip from a wheel folder,
## gem, cargo + pkg-config; arm64 under qemu, the Windows CLI under Wine) and get a token
test-dist: dist cli
	@bash tests/dist/run.sh

## demo: the main job, end to end against a local emulator
demo: cli lib python ruby node
	@bash build/demo.sh

## test: every test suite that exists
test: deps lint test-go test-c test-memory test-rust test-python test-ruby test-node test-conformance

## test-c: the C harness against the emulator, then under ASan and valgrind (test-memory)
test-c: lib cli
	@bash tests/c/run.sh

test-memory: lib cli
	@bash tests/c/run.sh --memory

## test-rust: a Cargo crate that links the library
test-rust: lib cli
	@bash tests/rust/run.sh

## gen: rewrite the tables every language shares (error codes, statuses, help texts, the
## version) from build/gen/tables.json; make vet fails while one is stale
gen:
	$(GO) run ./build/gen
	@bash build/version.sh --write

## lint: go vet, staticcheck, gofmt, shellcheck, ruff, rubocop, biome and C warnings as errors
## (build/lint.sh; the tools from build/setup.sh lint), then the packages' metadata
lint:
	@bash build/setup.sh lint
	@bash build/lint.sh
	@bash tests/dist/metadata.sh

vet: lint

test-go:
	$(GO) test $(GOTEST_FLAGS) ./...

## bench: one report, build/out/bench.md and bench.svg: Go engine (vs x/oauth2 ReuseTokenSource),
## the C ABI and each binding (cached token, callback round trip, 10,000 callers, size, load time)
bench: lib cli python ruby node
	@bash build/bench/report.sh

bench-c: lib cli
	@bash tests/c/bench.sh

## soak: long fuzzing and stress runs, by hand (not in CI); then the fleet soaks at full length
## (20 processes x 60 s with 20 s tokens over plain Redis and over TLS + a 3-master Cluster)
FUZZTIME ?= 2m
soak:
	@for f in FuzzParseAccessKey FuzzDecodeClaims FuzzDecodeToken FuzzClassifyIssuanceFailure; do \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./core/ || exit 1; done
	$(GO) test -race -count 20 -run 'Concurrent|Stale|Expired|Cancel|Stress' ./core/
	set -o pipefail; $(GO) test -count 1 -v -run '^TestFleetSoakOneRefreshPerWindow$$' ./tests/fleet/ -args -soak | grep -E '^\s*(---|fleet_test.go|ok|FAIL)'

clean:
	rm -rf $(OUT)
