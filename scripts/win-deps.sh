#!/usr/bin/env bash
# Builds Mbed TLS, NNG (with TLS, on Mbed TLS), the protobuf-c runtime and
# cmocka for Windows (mingw-w64, static) from Debian's source packages into
# PREFIX. A stamp naming the source versions and the build's features makes
# a second run a no-op, and an older deps dir rebuild.
set -euo pipefail

prefix=${1:?usage: win-deps.sh PREFIX}
here=$(cd "$(dirname "$0")" && pwd)
toolchain="$here/../cmake/mingw-w64.cmake"
srcpkgs=(mbedtls nng protobuf-c cmocka)

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The versions we would build are those of the installed native packages, so
# the stamp can be checked without touching the network.
# "tls" marks deps dirs whose NNG has tls+tcp://; those made before lack it.
want="tls "
for p in libmbedtls-dev libnng-dev libprotobuf-c-dev libcmocka-dev; do
	want+="$p=$(dpkg-query -W -f='${Version}' "$p") "
done
if [ -f "$prefix/.stamp" ] && [ "$(cat "$prefix/.stamp")" = "$want" ]; then
	exit 0
fi

# apt-get source needs deb-src entries. Derive them from the binary entries
# already configured, so no archive host is named here.
have_src() {
	grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/
}
if ! have_src; then
	echo "win-deps: adding deb-src entries next to the configured deb ones"
	tmp=$(mktemp)
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && sed -n 's/^Types: deb$/Types: deb-src/;p' "$f" | grep -q 'deb-src' &&
			sed 's/^Types: deb$/Types: deb-src/' "$f" >>"$tmp" && echo >>"$tmp"
	done
	if [ -s "$tmp" ]; then
		as_root install -m 644 "$tmp" /etc/apt/sources.list.d/pidcast-deb-src.sources
	elif [ -f /etc/apt/sources.list ]; then
		sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list >"$tmp"
		as_root install -m 644 "$tmp" /etc/apt/sources.list.d/pidcast-deb-src.list
	fi
	rm -f "$tmp"
	as_root apt-get update -q
fi

work="$prefix/src"
rm -rf "$prefix"
mkdir -p "$work"
echo "win-deps: fetching Debian sources of ${srcpkgs[*]}"
# apt-get source unpacks with Debian's patches applied.
(cd "$work" && apt-get source -q "${srcpkgs[@]}" >"$work/source.log" 2>&1) ||
	{ tail -n 20 "$work/source.log"; exit 1; }

srcdir() { find "$work" -maxdepth 1 -type d -name "$1-[0-9]*" | head -n1; }

cmake_build() { # name source-dir cmake-args...
	local name=$1 src=$2
	shift 2
	echo "win-deps: building $name"
	cmake -S "$src" -B "$work/build-$name" -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
		-DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
		-DBUILD_SHARED_LIBS=OFF "$@" >"$work/$name.log" 2>&1 ||
		{ tail -n 30 "$work/$name.log"; exit 1; }
	cmake --build "$work/build-$name" -j "$(nproc)" >>"$work/$name.log" 2>&1 ||
		{ tail -n 30 "$work/$name.log"; exit 1; }
	cmake --install "$work/build-$name" >>"$work/$name.log" 2>&1 ||
		{ tail -n 30 "$work/$name.log"; exit 1; }
}

# Mbed TLS as shipped upstream (Debian's extra config, threading on pthreads,
# is for Linux; NNG serializes its own use of the library).
cmake_build mbedtls "$(srcdir mbedtls)" -DENABLE_PROGRAMS=OFF -DENABLE_TESTING=OFF \
	-DMBEDTLS_FATAL_WARNINGS=OFF -DUSE_SHARED_MBEDTLS_LIBRARY=OFF -DUSE_STATIC_MBEDTLS_LIBRARY=ON
cmake_build nng "$(srcdir nng)" -DNNG_TESTS=OFF -DNNG_TOOLS=OFF -DNNG_ENABLE_NNGCAT=OFF \
	-DNNG_ENABLE_TLS=ON -DMBEDTLS_INCLUDE_DIR="$prefix/include" \
	-DMBEDTLS_TLS_LIBRARY="$prefix/lib/libmbedtls.a" \
	-DMBEDTLS_X509_LIBRARY="$prefix/lib/libmbedx509.a" \
	-DMBEDTLS_CRYPTO_LIBRARY="$prefix/lib/libmbedcrypto.a"
cmake_build protobuf-c "$(srcdir protobuf-c)/build-cmake" -DBUILD_PROTOC=OFF -DBUILD_TESTS=OFF
cmake_build cmocka "$(srcdir cmocka)" -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF

rm -rf "$work"
echo "$want" >"$prefix/.stamp"
echo "win-deps: ready in $prefix"
