#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) into build-fuzz/ and runs
# each for PC_FUZZ_SECONDS (default 30) over its seed corpus and the kept
# regressions. Exits non-zero on any crash; the crashing input is left in
# build-fuzz/ (copy it into tests/fuzz/regressions/TARGET/ with the fix).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
secs=${PC_FUZZ_SECONDS:-30}
b=build-fuzz
mkdir -p "$b"
cmake -S . -B "$b" -DPC_FUZZ=ON -DCMAKE_C_COMPILER=clang >"$b/configure.log" 2>&1 ||
	{ tail -n 30 "$b/configure.log"; exit 1; }
cmake --build "$b" -j "$(nproc)" >"$b/build.log" 2>&1 || { grep -E 'error' "$b/build.log"; exit 1; }
mkdir -p "$b/corpus/update" "$b/corpus/rpc" "$b/corpus/http"
"$b/tests/fuzz/fuzz_seeds" "$b/corpus/update" "$b/corpus/rpc" "$b/corpus/http" || exit 1

status=0
for t in update rpc http; do
	log="$b/fuzz_$t.log"
	# New inputs go to the first folder; the kept regressions are read only.
	dirs=("corpus/$t")
	[ -d "$top/tests/fuzz/regressions/$t" ] && dirs+=("$top/tests/fuzz/regressions/$t")
	(cd "$b" && "tests/fuzz/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
		"${dirs[@]}") >"$log" 2>&1
	rv=$?
	runs=$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n1)
	if [ $rv -eq 0 ]; then
		echo "fuzz_$t: ${runs:-?}, no crash, corpus $(ls "$b/corpus/$t" | wc -l) inputs"
	else
		echo "fuzz_$t: CRASH (exit $rv); see $log"
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5
		status=1
	fi
done
exit $status
