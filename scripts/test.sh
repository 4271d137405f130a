#!/usr/bin/env bash
# Runs every test: installs what is missing, checks the format and that
# core/ includes only downward (scripts/check-layers.sh), then builds
# and runs the suites natively (with valgrind), with ASan+UBSan, the
# libFuzzer targets for a bounded time (PC_FUZZ_SECONDS, default 30 each),
# and the Windows .exe files under Wine. Prints a summary; non-zero on any
# failure.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
want_win=1
want_asan=1
for a in "$@"; do
	case "$a" in
	--no-windows) want_win=0 ;;
	--no-asan) want_asan=0 ;;
	-h | --help)
		echo "usage: scripts/test.sh [--no-windows] [--no-asan]"
		echo "  deps, format and layer checks, native build and tests (also under valgrind),"
		echo "  ASan+UBSan build and tests, libFuzzer targets (PC_FUZZ_SECONDS each,"
		echo "  default 30; skipped with --no-asan), Windows build and tests under Wine."
		exit 0
		;;
	*)
		echo "test.sh: unknown argument '$a' (try --help)" >&2
		exit 2
		;;
	esac
done

note=""
summary=()
passed=0
failed=0
status=0
t0=$SECONDS

# stage NAME COMMAND...: runs a step, records its result and time.
stage() {
	local name=$1 t=$SECONDS rv
	shift
	echo "=== $name"
	"$@"
	rv=$?
	if [ $rv -eq 0 ]; then
		summary+=("$(printf '%-10s ok      %4ds %s' "$name" $((SECONDS - t)) "${note:-}")")
	else
		summary+=("$(printf '%-10s FAILED  %4ds %s' "$name" $((SECONDS - t)) "${note:-}")")
		status=1
	fi
	note=""
	return $rv
}

# build_and_test DIR CMAKE-ARGS...: configure, build, ctest; counts the tests.
build_and_test() {
	local dir=$1 log
	shift
	mkdir -p "$dir"
	cmake -S . -B "$dir" "$@" >"$dir/configure.log" 2>&1 ||
		{ tail -n 40 "$dir/configure.log"; note="configure failed"; return 1; }
	cmake --build "$dir" -j "$jobs" >"$dir/build.log" 2>&1 ||
		{ grep -E 'error|Error' "$dir/build.log" | head -n 40; note="build failed"; return 1; }
	log="$dir/ctest.log"
	(cd "$dir" && ctest --output-on-failure -j "$jobs") 2>&1 | tee "$log"
	local rv=${PIPESTATUS[0]}
	# CTest's closing line: "N% tests passed, F tests failed out of T".
	local line total fails
	line=$(grep -E 'tests passed, [0-9]+ tests? failed out of' "$log" | tail -n1)
	total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
	fails=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
	total=${total:-0}
	fails=${fails:-0}
	passed=$((passed + total - fails))
	failed=$((failed + fails))
	note="$((total - fails))/$total tests passed"
	[ "$total" -gt 0 ] || { note="no tests ran"; return 1; }
	return $rv
}

if [ "$want_win" -eq 1 ]; then
	stage deps scripts/deps.sh || { echo "deps failed: nothing else can run"; exit 1; }
else
	stage deps scripts/deps.sh --native || { echo "deps failed: nothing else can run"; exit 1; }
fi
stage format scripts/check-format.sh
stage layers scripts/check-layers.sh
stage native build_and_test build -DPC_VALGRIND=ON
if [ "$want_asan" -eq 1 ]; then
	stage asan build_and_test build-asan -DPC_SANITIZE=ON -DCMAKE_C_COMPILER=clang
fi
if [ "$want_asan" -eq 1 ]; then
	stage fuzz scripts/fuzz.sh
fi
if [ "$want_win" -eq 1 ]; then
	stage windows build_and_test build-win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake
	# Leave no wineserver behind.
	[ -x build-win/wine-run.sh ] && build-win/wine-run.sh --stop 2>/dev/null
fi

echo
echo "=== summary ($((SECONDS - t0)) s)"
printf '%s\n' "${summary[@]}"
echo "tests: $passed passed, $failed failed"
exit $status
