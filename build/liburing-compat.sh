#!/usr/bin/env bash
# Builds the C core, its tests and (when Go is installed) the Go package
# against each liburing release from 2.1 (Ubuntu 22.04) to 2.5 (Ubuntu 24.04),
# each built from source as a static library, and runs the C tests that use
# io_uring against each.
#
# Usage: build/liburing-compat.sh [VERSION...]      (default: 2.1 2.2 2.3 2.4 2.5)
#
# LIBURING_SRC   a liburing git clone (or bare git directory) that has the
#                liburing-X.Y tags, or a directory holding unpacked release
#                trees liburing-X.Y/. Default: build/liburing/git. Without it
#                the script says how to get one and exits 0, e.g.
#                  git clone https://github.com/axboe/liburing build/liburing/git
# COMPAT_DIR     where the builds go (default: build/liburing): <ver>/ holds
#                liburing's headers and static library, cmake-<ver>/ the C core.
# COMPAT_CTEST   ctest arguments (default: the tests that use io_uring; set it
#                to an empty string to run every C test).
# COMPAT_GO      0: skip the Go build (go build + go test -c of the package).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(2.1 2.2 2.3 2.4 2.5)
src=${LIBURING_SRC:-build/liburing/git}
out=${COMPAT_DIR:-build/liburing}
ctest_args=${COMPAT_CTEST-"-R uring|ring|compat"}
jobs=$(nproc 2>/dev/null || echo 2)

if [ ! -d "$src" ]; then
	echo "liburing-compat: no liburing source at $src; get one with" >&2
	echo "  git clone https://github.com/axboe/liburing build/liburing/git" >&2
	echo "or set LIBURING_SRC (a git clone, or a directory of liburing-X.Y/ trees)" >&2
	exit 0
fi
src=$(cd "$src" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

# liburing's sources are unpacked outside the checkout and removed at exit:
# only the built library and the C core's build stay under $out.
srcdir=$(mktemp -d)
trap 'rm -rf "$srcdir"' EXIT

# Extracts release v into directory $2.
extract() {
	local v=$1 dst=$2
	rm -rf "$dst"
	if [ -d "$src/liburing-$v" ]; then
		cp -a "$src/liburing-$v" "$dst"
		return
	fi
	local gitdir=$src
	[ -d "$src/.git" ] && gitdir=$src/.git
	if ! git --git-dir="$gitdir" rev-parse -q --verify "refs/tags/liburing-$v" >/dev/null; then
		echo "liburing-compat: no tag liburing-$v in $src" >&2
		return 1
	fi
	mkdir -p "$dst"
	git --git-dir="$gitdir" archive "liburing-$v" | tar -x -C "$dst"
}

summary=()
failed=0
for v in "${versions[@]}"; do
	prefix=$out/$v
	log=$out/$v.log
	: >"$log"
	echo "== liburing $v" >&2
	step=extract
	if ! extract "$v" "$srcdir/$v" >>"$log" 2>&1; then
		summary+=("$v: FAILED at $step (see $log)")
		failed=1
		continue
	fi
	# liburing itself, static only, into its own prefix.
	step=liburing
	rm -rf "$prefix"
	if ! (cd "$srcdir/$v" && ./configure --prefix="$prefix" &&
		make -C src -j"$jobs" ENABLE_SHARED=0 &&
		make install ENABLE_SHARED=0) >>"$log" 2>&1; then
		summary+=("$v: FAILED at $step (see $log)")
		failed=1
		continue
	fi
	export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
	# (The version in liburing.pc is not reliable: 2.1's says 2.0.)
	got=$(pkg-config --variable=includedir liburing)
	if [ "$got" != "$prefix/include" ]; then
		echo "liburing-compat: pkg-config finds liburing in $got, not $prefix" | tee -a "$log" >&2
		summary+=("$v: FAILED (pkg-config finds $got)")
		failed=1
		continue
	fi
	# The C core, its tests and benchmarks (-Werror), linked with that
	# static liburing.
	step="C build"
	bdir=$out/cmake-$v
	rm -rf "$bdir"
	if ! (cmake -S "$root" -B "$bdir" -DCMAKE_BUILD_TYPE=Debug &&
		cmake --build "$bdir" -j"$jobs") >>"$log" 2>&1; then
		summary+=("$v: FAILED at $step (see $log)")
		failed=1
		continue
	fi
	result="C core and tests compiled and linked"
	# shellcheck disable=SC2086 # ctest_args is a list of arguments
	step="C tests"
	if ! ctest --test-dir "$bdir" --output-on-failure $ctest_args >>"$log" 2>&1; then
		summary+=("$v: FAILED at $step (see $log)")
		failed=1
		continue
	fi
	result+="; C tests passed"
	if [ "${COMPAT_GO:-1}" != 0 ] && command -v go >/dev/null; then
		step="Go build"
		if ! (go build . && go test -c -o "$out/kpipe-$v.test" ./internal/core) >>"$log" 2>&1; then
			summary+=("$v: FAILED at $step (see $log)")
			failed=1
			continue
		fi
		rm -f "$out/kpipe-$v.test"
		result+="; Go package built and linked"
	fi
	summary+=("$v: ok ($result)")
done
unset PKG_CONFIG_PATH

echo "liburing-compat:" >&2
for line in "${summary[@]}"; do
	echo "  liburing $line" >&2
done
exit $failed
