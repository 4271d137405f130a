#!/usr/bin/env bash
# Installs what pidcast's build and tests need: Debian packages, the web
# page's packages from the npm registry (uPlot, and playwright-core for the
# browser test, per clients/aggregator/web/package-lock.json), then (unless
# --native) Mbed TLS, NNG, protobuf-c and cmocka built for Windows from
# Debian's source packages. Idempotent: with everything present it returns
# in about a second.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
native_only=0
for a in "$@"; do
	case "$a" in
	--native) native_only=1 ;;
	-h | --help)
		echo "usage: scripts/deps.sh [--native]"
		echo "  installs Debian packages for the build and tests (as root, with apt-get),"
		echo "  then builds the Windows dependencies into build-win/deps (skipped with --native)."
		exit 0
		;;
	*)
		echo "deps.sh: unknown argument '$a' (try --help)" >&2
		exit 2
		;;
	esac
done

# One list, so that a missing tool is added here and nowhere else.
pkgs=(
	build-essential cmake pkg-config git
	libnng-dev libmbedtls-dev nng-utils libprotobuf-c-dev protobuf-c-compiler libcmocka-dev
	clang libclang-rt-14-dev clang-format valgrind curl prometheus
	mingw-w64 wine wine64 dpkg-dev openssl
	systemd strace
	libbpf-dev bpftool
	libncurses-dev tmux
	libsqlite3-dev sqlite3 clickhouse-server clickhouse-client
	chromium
)
# Node.js and npm: Debian's, unless the machine has its own already.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
	# dpkg-query prints "install ok installed" only for a package that is fully there.
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing+=("$p")
	fi
done

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -q
	# Services come installed, not started (clickhouse-server): the tests
	# start servers of their own, and the machine may have no init to run
	# them. invoke-rc.d asks policy-rc.d first, and 101 is "not now"; one
	# that is there already is the admin's, and left as it is.
	policy=/usr/sbin/policy-rc.d
	own_policy=0
	if [ ! -e "$policy" ]; then
		as_root sh -c "printf '#!/bin/sh\\nexit 101\\n' >$policy && chmod 755 $policy"
		own_policy=1
		trap 'as_root rm -f "$policy"' EXIT # also when apt-get fails (set -e)
	fi
	as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
	if [ "$own_policy" -eq 1 ]; then
		as_root rm -f "$policy"
		trap - EXIT
	fi
fi

# The web page's packages, exactly as the lock file says; again only when
# the lock changed since the last install.
web=$top/clients/aggregator/web
stamp=$web/node_modules/.pidcast-lock
if ! cmp -s "$web/package-lock.json" "$stamp" 2>/dev/null; then
	echo "deps: npm ci in ${web#"$top"/}"
	(cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
	cp "$web/package-lock.json" "$stamp"
fi

if [ "$native_only" -eq 0 ]; then
	"$here/win-deps.sh" "$top/build-win/deps"
fi
