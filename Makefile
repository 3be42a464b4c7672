# kpipe: the commands the README names.
GO      ?= go
CMAKE_DIR := build/cmake
SAN_DIR   := build/cmake-sanitize

.PHONY: all deps build c-build c-test c-sanitize c-valgrind vet test bench bench-quick bench-deps bench-go lint fmt clean

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

## c-test: the C core's own tests
c-test: c-build
	ctest --test-dir $(CMAKE_DIR) --output-on-failure

## c-sanitize: the C tests under AddressSanitizer and UBSan
c-sanitize: deps
	@cmake -S . -B $(SAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DKPIPE_SANITIZE=ON >/dev/null
	@cmake --build $(SAN_DIR) -j >/dev/null
	ctest --test-dir $(SAN_DIR) --output-on-failure

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

vet: deps
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

## test: everything that must pass: C tests (plain and sanitized), vet, the
## Go tests with the race detector on the default (poll) backend, the tests
## that use the default engine again with io_uring as the default, once more
## with the poll backend forced over configurations that ask for io_uring,
## then the allocation tests without race instrumentation, and the tests
## of the benchmark harness (every section on tiny sizes)
test: deps c-test c-sanitize vet
	$(GO) test -race -count=1 -timeout 15m ./...
	KPIPE_BACKEND=io_uring $(GO) test -race -count=1 -timeout 15m -run 'Engine|Proxy|DoubleSplice|Ring|Program|Echo|Example' ./...
	KPIPE_BACKEND=poll $(GO) test -count=1 -timeout 15m -run 'Engine|Proxy|DoubleSplice|Program' ./...
	$(GO) test -count=1 -timeout 15m -run 'Alloc' ./...
	cd bench && $(GO) vet ./... && $(GO) test -count=1 -timeout 10m ./harness ./cmd/...

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
	@bash build/deps.sh haproxy
	@cmake -S . -B $(BENCH_CDIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BENCH_CDIR) -j --target kp_splice_copy kp_rw_copy kp_gzip >/dev/null
	cd bench && $(GO) build -o ../$(HARNESS) ./cmd/kpipe-bench

## bench-go: the go test benchmarks of the root package (file copy, TCP
## proxy) and of the bench module (compression, file server)
bench-go: deps
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 8x -timeout 60m .
	cd bench && $(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m .

clean:
	rm -rf build/cmake build/cmake-sanitize build/cmake-bench build/kpipe-bench build/bench-report build/bench-report-quick
