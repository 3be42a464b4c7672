# kpipe: the commands the README names.
GO      ?= go
CMAKE_DIR := build/cmake
SAN_DIR   := build/cmake-sanitize

.PHONY: all deps build c-build c-test c-sanitize c-valgrind vet test bench lint fmt clean

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
## then the allocation tests without race instrumentation
test: deps c-test c-sanitize vet
	$(GO) test -race -count=1 -timeout 15m ./...
	KPIPE_BACKEND=io_uring $(GO) test -race -count=1 -timeout 15m -run 'Engine|Proxy|DoubleSplice|Ring|Program|Echo|Example' ./...
	KPIPE_BACKEND=poll $(GO) test -count=1 -timeout 15m -run 'Engine|Proxy|DoubleSplice|Program' ./...
	$(GO) test -count=1 -timeout 15m -run 'Alloc' ./...

## bench: the benchmarks, side by side with their peers: file copy, TCP
## proxy (io_uring, poll, io.Copy, user-space copy), then compression and
## the file server against Go's libraries, klauspost/compress and gzip(1)
## (the bench/ module)
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 8x -timeout 60m .
	cd bench && $(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m .

clean:
	rm -rf build/cmake build/cmake-sanitize
