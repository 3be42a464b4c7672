#!/usr/bin/env bash
# Installs the system packages kpipe's build, tests and benchmarks need.
# Idempotent and quiet when everything is already present; exits non-zero
# at once, naming the command to run, when something cannot be installed.
#
# No pipeline here ends in a reader that may stop early (grep -q, head):
# under pipefail the writer's SIGPIPE would make the test false whatever it
# found. Outputs are captured first and matched in the shell.
#
# KPIPE_DEPS_DRY_RUN=1 prints the packages it would install, one line
# "deps: would install ..." (or nothing), and changes nothing.
set -euo pipefail

packages=(ca-certificates gcc make pkg-config cmake liburing-dev zlib1g-dev libisal-dev libdeflate-dev netcat-openbsd curl gzip pigz isal libdeflate-tools python3 "$@")

# browser prints the first headless browser on PATH, or nothing.
browser() {
	local b
	for b in chromium chromium-browser google-chrome google-chrome-stable; do
		if command -v "$b" >/dev/null; then
			command -v "$b"
			return
		fi
	done
}

# installed tells whether dpkg has package $1 installed.
installed() {
	local status
	status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
	[[ $status == *"ok installed"* ]]
}

# candidate tells whether apt can install package $1.
candidate() {
	local policy
	policy=$(apt-cache policy "$1" 2>/dev/null) || return 1
	[[ $policy =~ Candidate:\ [0-9] ]]
}

# The file server's tests load a page in headless Chromium. Debian packages
# it as "chromium"; Ubuntu's is a snap stub, and its CI images ship Chrome.
need_browser=0
[ -n "$(browser)" ] || need_browser=1

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && [ $need_browser -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
if [ "${KPIPE_DEPS_DRY_RUN:-}" != 1 ]; then
	$SUDO apt-get update -qq >/dev/null
fi
if [ $need_browser -eq 1 ]; then
	if candidate chromium; then
		missing+=(chromium)
	else
		echo "deps: no headless browser on PATH and no chromium package for apt;" >&2
		echo "deps: install Chromium or Google Chrome (for instance: apt-get install chromium)" >&2
		exit 1
	fi
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "${KPIPE_DEPS_DRY_RUN:-}" = 1 ]; then
	echo "deps: would install ${missing[*]}"
	exit 0
fi
echo "deps: installing ${missing[*]}" >&2
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
	echo "deps: apt-get install ${missing[*]} failed; run it by hand to see why" >&2
	exit 1
fi
if [ $need_browser -eq 1 ] && [ -z "$(browser)" ]; then
	echo "deps: chromium was installed but no browser is on PATH" >&2
	exit 1
fi
