# kpipe: the commands the README names.
GO      ?= go

# Go's build cache keys a cgo package on its own directory's files, not on
# what they #include from csrc/ and vendor-c/: a change there alone would
# be tested on a stale build. A hash of those sources in CGO_CFLAGS (whose
# default is -O2 -g) makes it part of the key.
# Whether the headers of ISA-L and libdeflate are there changes what
# csrc/zisal.c and csrc/zwhole.c compile to.
CSRC_HASH := $(shell { cat csrc/*.[ch] csrc/*/*.[ch] vendor-c/*.[ch]; ls /usr/include/isa-l/igzip_lib.h /usr/include/libdeflate.h; } 2>/dev/null | sha256sum | cut -c1-16)
CGO_CFLAGS ?= -O2 -g
export CGO_CFLAGS += -DKPIPE_CSRC_HASH=$(CSRC_HASH)
CMAKE_DIR := build/cmake
SAN_DIR   := build/cmake-sanitize

.PHONY: cross all deps build c-build c-test c-sanitize c-valgrind vet test bench bench-quick bench-deps bench-go lint c-compat fmt clean

all: build

## deps: install the system packages the build, tests and benchmarks need
deps:
	@bash build/deps.sh

## build: the Go package, its command and examples, and the C core
build: deps c-build
	$(GO) build ./...

c-build: deps
	@cmake -S . -B $(CMAKE_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(CMAKE_DIR) -j >/dev/null

## c-test: the C core's own tests, CTEST_JOBS at a time (they share no
## files or ports)
CTEST_JOBS ?= $(shell nproc)
c-test: c-build
	ctest --test-dir $(CMAKE_DIR) --output-on-failure -j $(CTEST_JOBS)

## c-sanitize: the C tests under AddressSanitizer and UBSan, built at -O1
## as AddressSanitizer's documentation advises (faster than -O0)
c-sanitize: deps
	@cmake -S . -B $(SAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DKPIPE_SANITIZE=ON >/dev/null
	@cmake --build $(SAN_DIR) -j >/dev/null
	ctest --test-dir $(SAN_DIR) --output-on-failure -j $(CTEST_JOBS)

## c-valgrind: the C tests once more under valgrind's memcheck (leaks, bad
## reads and writes); each test's output goes to build/cmake/<test>.valgrind
c-valgrind: c-build
	@bash build/deps.sh valgrind
	@set -e; for t in $$(find $(CMAKE_DIR) -maxdepth 1 -type f -name 'test_*' -perm -u+x | sort); do \
		log=$$t.valgrind; \
		if valgrind -q --leak-check=full --error-exitcode=1 $$t >$$log 2>&1; then \
			echo "valgrind ok: $$(tail -n 1 $$log)"; \
		else \
			cat $$log; echo "valgrind FAILED: $$t"; exit 1; \
		fi; \
	done

## sanitize: the C tests under ASan+UBSan and under valgrind (0 errors, 0
## leaks), then the whole Go suite with cgo code and Go code under
## AddressSanitizer (go test -asan: gcc >= 7 on linux/amd64 is enough;
## liburing and zlib are linked uninstrumented, which ASan tolerates), and
## again with GOEXPERIMENT=cgocheck2, which checks every pointer cgo passes
## to C; -short keeps the sizes of the race run. -msan is not run: it needs
## clang, and liburing and zlib built with -fsanitize=memory, or it reports
## their writes.
sanitize: c-sanitize c-valgrind
	$(GO) test -asan -short -count=1 -timeout 30m . ./internal/core
	GOEXPERIMENT=cgocheck2 $(GO) test -short -count=1 -timeout 30m ./...

## fuzz: every fuzz target of internal/core for FUZZTIME each (go test
## takes one -fuzz target per run); crashers land in testdata/fuzz/<Target>/
FUZZTIME ?= 30s
fuzz: deps
	@set -e; for t in $$($(GO) test -list '^Fuzz' ./internal/core | grep '^Fuzz'); do \
		echo "fuzz: $$t for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) ./internal/core ; \
	done

## vet: go vet, gofmt, and go.mod and go.sum as go mod tidy leaves them
## (both modules)
vet: deps
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	@GO=$(GO) bash build/tidy-check.sh

## lint: go vet and staticcheck (root module, with and without cgo, and
## bench/), gofmt, and the C sources against .clang-format (written for
## clang-format 14, the version of Debian 12 and Ubuntu 22.04; other
## versions may disagree on details)
STATICCHECK  ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
CLANG_FORMAT ?= clang-format
C_FORMAT_FILES = $(wildcard csrc/*.[ch] csrc/*/*.[ch] vendor-c/*.[ch])
lint:
	@bash build/deps.sh clang-format
	$(GO) vet ./...
	cd bench && $(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	CGO_ENABLED=0 $(GO) run $(STATICCHECK) ./...
	cd bench && $(GO) run $(STATICCHECK) ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	@GO=$(GO) bash build/tidy-check.sh
	$(CLANG_FORMAT) --dry-run -Werror $(C_FORMAT_FILES)

## c-compat: the C core, its io_uring tests and the Go package built against
## each liburing release from 2.1 to 2.5 (LIBURING_VERSIONS), each compiled
## from source; needs a liburing git clone in build/liburing/git or
## LIBURING_SRC (see build/liburing-compat.sh), and skips without one
c-compat: deps
	@bash build/liburing-compat.sh $(LIBURING_VERSIONS)

## test: everything that must pass: C tests (plain and sanitized), vet
## (with the go mod tidy check), the checks of make deps's decisions; the
## Go tests with the race detector, on the default (poll) backend and on
## engines asked for each backend; the tests of the default engine again
## with io_uring as the default (TestEngineBackendEnv checks the variable's
## other settings); without race instrumentation, the allocation tests and
## the tests whose sizes shrink under race (1 GiB of back pressure, 24 MiB
## through zlib, every endpoint pair at 1 MiB); the compression tests (Go
## and C) again with zlib where ISA-L runs (KPIPE_ZENGINE=zlib); the
## behaviour tests once more in the build without C (CGO_ENABLED=0); and
## the tests of the
## benchmark harness (every section on tiny sizes). -short keeps the paths
## and shrinks the sizes, as the race detector does, and the soak from 10s
## to 4s: every run but the full-size one takes it (make soak is the long
## soak).
# The compression tests, run once more with KPIPE_ZENGINE=zlib: zlib where
# ISA-L or libdeflate would run.
ZLIB_RUN ?= Zlib|Gzip|Gunzip|Inflate|Deflate|Codec|Invalid|Trunc|Member|Header|Bomb|Stream|Fuzz|Compression|Example
FULL_SIZE_RUN ?= 'Alloc|^(TestCancelHandsBack|TestFaultBackPressure|TestZlibEndpoints|TestSpliceChunksMatrix|TestProxyIntegrity|TestProxyScaleIdle)$$'
test: deps c-test c-sanitize vet
	bash build/deps_test.sh
	$(GO) test -race -short -count=1 -timeout 15m ./...
	KPIPE_BACKEND=io_uring $(GO) test -race -short -count=1 -timeout 15m -run 'Engine|Proxy|DoubleSplice|Cancel|Ring|Program|Echo|Example' ./...
	$(GO) test -count=1 -timeout 15m -run $(FULL_SIZE_RUN) . ./internal/core ./kphttp
	KPIPE_ZENGINE=zlib $(GO) test -short -count=1 -timeout 15m -run '$(ZLIB_RUN)' . ./internal/core
	KPIPE_ZENGINE=zlib ctest --test-dir $(CMAKE_DIR) --output-on-failure -R zstream
	CGO_ENABLED=0 $(GO) test -short -count=1 -timeout 15m . ./internal/core ./kphttp
	cd bench && $(GO) vet ./... && $(GO) test -count=1 -timeout 10m ./harness ./cmd/...

## cross: the package, its tests and the rest of the module type-check and
## vet for the other systems kpipe supports (CGO_ENABLED=0, no C needed)
CROSS_TARGETS ?= darwin/amd64 darwin/arm64 freebsd/amd64 windows/amd64 linux/arm64
cross:
	@set -e; for t in $(CROSS_TARGETS); do \
		echo "cross: $$t"; \
		GOOS=$${t%/*} GOARCH=$${t#*/} CGO_ENABLED=0 $(GO) vet ./...; \
	done

.PHONY: test-nouring soak

## test-nouring: the whole Go test suite of internal/core with io_uring
## refused as Docker's default seccomp profile refuses it (EPERM), through
## internal/nouring/cmd/nouring-run: everything must pass on the fallback
## (-short: the sizes of the race run; the paths are the same)
test-nouring: deps
	$(GO) build -o build/nouring-run ./internal/nouring/cmd/nouring-run
	$(GO) test -c -o build/kpipe.test ./internal/core
	cd internal/core && ../../build/nouring-run ../../build/kpipe.test -test.short -test.count=1 -test.timeout=15m

## soak: the proxy soak test (1,000 connections, mixed sizes, SHA-256 both
## ways, descriptors and threads sampled every second) for 5 minutes;
## KPIPE_SOAK sets another length
KPIPE_SOAK ?= 5m
soak: deps
	KPIPE_SOAK=$(KPIPE_SOAK) $(GO) test -count=1 -timeout 30m -run '^TestSoakProxy$$' -v ./internal/core

## bench: the benchmark harness (bench/cmd/kpipe-bench) on built-in data:
## file copy, TCP proxy (with HAProxy), echo, compression and cgo overhead,
## kpipe side by side with its peers, medians of 5 runs; the report goes to
## stdout and to build/bench-report (report.md, chart.svg). BENCH_FLAGS adds
## harness flags; bench-quick is the two-minute smoke test of the harness.
bench: bench-deps
	$(HARNESS) -cbin $(BENCH_CDIR) -out build/bench-report $(BENCH_FLAGS)

bench-quick: bench-deps
	$(HARNESS) -cbin $(BENCH_CDIR) -out build/bench-report-quick -quick $(BENCH_FLAGS)

BENCH_CDIR := build/cmake-bench
HARNESS    := build/kpipe-bench

# The harness, and the pure C programs it compares with, built for speed.
bench-deps: deps
	@bash build/deps.sh haproxy strace
	@cmake -S . -B $(BENCH_CDIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BENCH_CDIR) -j --target kp_splice_copy kp_rw_copy kp_gzip >/dev/null
	cd bench && $(GO) build -o ../$(HARNESS) ./cmd/kpipe-bench

## bench-go: the go test benchmarks of internal/core (file copy, TCP
## proxy) and of the bench module (compression, file server)
bench-go: deps
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 8x -timeout 60m ./internal/core
	cd bench && $(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m .

clean:
	rm -rf build/cmake build/cmake-sanitize build/cmake-bench build/kpipe-bench build/bench-report build/bench-report-quick
