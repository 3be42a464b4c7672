#!/usr/bin/env bash
# Tests build/deps.sh's decisions on this machine, without installing
# anything (KPIPE_DEPS_DRY_RUN=1), after make deps has run:
#   1. with everything present it asks for nothing;
#   2. with the browser hidden (a private mount namespace in which the
#      directories that hold one show everything else) it asks for
#      chromium: the check that a SIGPIPE under pipefail once made false on
#      every machine.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
	echo "deps_test: $*" >&2
	exit 1
}

out=$(KPIPE_DEPS_DRY_RUN=1 bash build/deps.sh)
[ -z "$out" ] || fail "with everything installed deps.sh says: $out"

names=(chromium chromium-browser google-chrome google-chrome-stable)
dirs=()
for b in "${names[@]}"; do
	if p=$(command -v "$b"); then
		dirs+=("$(dirname "$p")")
	fi
done
[ ${#dirs[@]} -gt 0 ] || fail "no browser on PATH: run make deps first"

# In a private mount namespace, each directory that holds a browser is
# replaced by a farm of symbolic links to everything else in it.
# A mount namespace needs root: as root, or through sudo (GitHub's runners),
# or as a user namespace's root where the kernel allows it (Ubuntu 24.04's
# AppArmor does not by default).
if [ "$(id -u)" -eq 0 ]; then
	ns=(unshare -m)
elif sudo -n true 2>/dev/null; then
	ns=(sudo -n unshare -m)
elif unshare -rm true 2>/dev/null; then
	ns=(unshare -rm)
else
	fail "no mount namespace here (needs root, sudo, or unprivileged user namespaces): run make test as root or with sudo"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2016 # expanded by the inner shell
out=$("${ns[@]}" bash -c '
	set -euo pipefail
	tmp=$1
	shift
	i=0
	for d in $(printf "%s\n" "$@" | sort -u); do
		i=$((i + 1))
		mkdir -p "$tmp/orig$i" "$tmp/farm$i"
		mount --bind "$d" "$tmp/orig$i"
		for f in "$tmp/orig$i"/* "$tmp/orig$i"/.[!.]*; do
			[ -e "$f" ] || [ -L "$f" ] || continue
			case "${f##*/}" in
			chromium | chromium-browser | google-chrome | google-chrome-stable) ;;
			*) ln -s "$f" "$tmp/farm$i/${f##*/}" ;;
			esac
		done
		mount --bind "$tmp/farm$i" "$d"
	done
	hash -r
	! command -v chromium >/dev/null || { echo "chromium still on PATH" >&2; exit 1; }
	KPIPE_DEPS_DRY_RUN=1 bash build/deps.sh
' hide "$tmp" "${dirs[@]}") || fail "deps.sh failed with the browser hidden"
[[ $out == *"would install"*chromium* ]] || fail "with the browser hidden deps.sh says \"$out\", want it to install chromium"
echo "deps_test: ok (asks for nothing; asks for chromium when no browser is on PATH)"
