#!/bin/bash
# bench_web.sh: what the web page costs the aggregator (issue 16, item 4):
# bench_aggregator's simulated agents (PROCS processes each, 20 changed and
# one replaced a tick) against the aggregator with its HTTP server on and no
# page, then with PAGES simulated open pages polling the API as app.js does,
# alternating, ROUNDS times: the aggregator's CPU both ways and the ratio of
# the medians; searches across the fleet timed; and the bytes a page
# downloads a minute when nothing changes (agents idle after their first
# table).
# usage: bench_web.sh BUILD_DIR [HOSTS (1000)] [PROCS (1000)] [SECONDS (40)] [ROUNDS (2)] [PAGES (10)]
set -u
build=$1 hosts=${2:-1000} procs=${3:-1000} secs=${4:-40} rounds=${5:-2} pages=${6:-10}
bench=$build/tests/bench/bench_aggregator
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common/pc_test.sh" # $tmp, fail
[ -x "$bench" ] || fail "no $bench (build with tests on)"

# run NAME ARGS...: one bench_aggregator run; its lines in $tmp/NAME.N
run() {
	local name=$1 n
	shift
	n=$(ls "$tmp" | grep -c "^$name\.[0-9]*$")
	"$bench" -a "$hosts" -p "$procs" -s "$secs" -P "$@" >"$tmp/$name.$n" 2>"$tmp/$name.$n.err" ||
		echo "($name run $n: bench_aggregator exited $?)" >>"$tmp/$name.$n"
	grep -E '^(agents|web|\()' "$tmp/$name.$n" | sed "s/^/$name: /"
}
for r in $(seq "$rounds"); do
	run none -W 0
	run pages -W "$pages"
done
run idle -W 1 -i

med() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
cpu() { grep -ho 'aggregator CPU [0-9.]*' "$tmp/$1".[0-9]* | awk '{ print $3 }' | med; }
search() { grep -ho 'answers in [0-9.]* ms median, [0-9.]* ms at most' "$tmp/$1".[0-9]* | awk '{ print $3, $6 }' | sort -n | tail -n1; }
echo
echo "median of $rounds runs of $secs s, $hosts hosts x $procs processes ($(nproc) CPUs)"
awk -v a="$(cpu none)" -v b="$(cpu pages)" -v p="$pages" \
	'BEGIN { printf "aggregator CPU: no page %.1f%%, %d pages %.1f%%: ratio %.2fx\n", a, p, b, b / a }'
set -- $(search pages)
echo "search across the fleet, while the pages poll: median ${1:-?} ms, at most ${2:-?} ms (the worst run's)"
grep -ho 'KB a minute each' "$tmp"/idle.0 >/dev/null &&
	echo "idle fleet: a page downloads $(grep -ho '[0-9.]* KB a minute each' "$tmp"/idle.0 | awk '{ print $1 }') KB a minute"
echo "busy fleet: a page downloads $(grep -ho '[0-9.]* KB a minute each' "$tmp"/pages.[0-9]* | awk '{ print $1 }' | med) KB a minute"
