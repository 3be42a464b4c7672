#!/usr/bin/env bash
# Fails when `go mod tidy` would change go.mod or go.sum of the root module
# or of bench/. Works with every Go that go.mod allows (go mod tidy -diff
# needs Go 1.23): tidies a copy of each module's files and compares.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
status=0
for m in . bench; do
	tmp=$(mktemp -d)
	cp "$m/go.mod" "$m/go.sum" "$tmp/"
	(cd "$m" && "$GO" mod tidy)
	for f in go.mod go.sum; do
		if ! cmp -s "$tmp/$f" "$m/$f"; then
			echo "tidy-check: go mod tidy changes $m/$f:" >&2
			diff -u "$tmp/$f" "$m/$f" >&2 || true
			status=1
		fi
		cp "$tmp/$f" "$m/$f"
	done
	rm -rf "$tmp"
done
[ $status -eq 0 ] || echo "tidy-check: run go mod tidy in the modules above and commit the result" >&2
exit $status
