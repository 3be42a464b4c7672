#!/usr/bin/env bash
# Installs the system packages kpipe's build, tests and benchmarks need.
# Idempotent and quiet when everything is already present.
set -euo pipefail

packages=(gcc make pkg-config cmake liburing-dev zlib1g-dev netcat-openbsd curl gzip "$@")

# The file server's tests load a page in headless Chromium. Debian packages
# it as "chromium"; Ubuntu's is a snap stub, and its CI images ship Chrome.
need_browser=0
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null &&
	! command -v google-chrome >/dev/null; then
	need_browser=1
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && [ $need_browser -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
if [ $need_browser -eq 1 ] && apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
	missing+=(chromium)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
