#!/bin/bash
# bench_history_cost.sh: what the history costs the aggregator (issue 15):
# bench_aggregator's simulated agents (1,000 processes each, 20 changed and
# one replaced a tick, one tick a second) against the aggregator with no
# history and with each store, side by side, alternating, ROUNDS times:
# rows a second written, the queue at the end, rows dropped after warm-up,
# the aggregator's CPU; and the bytes on disk a process-hour of each store.
# usage: bench_history_cost.sh BUILD_DIR [SECONDS (40)] [ROUNDS (2)] [SQLITE_HOSTS (100)] [CH_HOSTS (1000)]
set -u
build=$1 secs=${2:-40} rounds=${3:-2} sq_hosts=${4:-100} ch_hosts=${5:-1000}
bench=$build/tests/bench/bench_aggregator
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common/pc_test.sh"       # $tmp, fail
. "$here/../common/pc_clickhouse.sh" # pc_ch_*
pc_ch_init "$tmp/ch" || fail "no free ports for ClickHouse"
pc_ch_start || fail "clickhouse-server did not start"
sql() { clickhouse-client --host 127.0.0.1 --port "$ch_tcp" --query "$1"; }

# run NAME HOSTS URL: one bench_aggregator run; its lines in $tmp/NAME.N
run() {
	local name=$1 hosts=$2 url=$3 n
	n=$(ls "$tmp" | grep -c "^$name\.")
	"$bench" -a "$hosts" -p 1000 -s "$secs" -P -H "$url" >"$tmp/$name.$n" 2>"$tmp/$name.$n.err" ||
		echo "($name run $n: bench_aggregator exited $?)" >>"$tmp/$name.$n"
	grep -E '^(agents|history)' "$tmp/$name.$n" | sed "s/^/$name: /"
}
for r in $(seq "$rounds"); do
	rm -f "$tmp/h$r.db"*
	run none-$sq_hosts "$sq_hosts" none
	run sqlite-$sq_hosts "$sq_hosts" "sqlite:$tmp/h$r.db"
	run none-$ch_hosts "$ch_hosts" none
	run clickhouse-$ch_hosts "$ch_hosts" "clickhouse://127.0.0.1:$ch_http/bench$r"
done

cpu() { grep -ho 'aggregator CPU [0-9.]*' "$tmp/$1".[0-9]* | awk '{ print $3 }' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
rate() { grep -ho '[0-9]* rows/s written' "$tmp/$1".[0-9]* | awk '{ print $1 }' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo
echo "median of $rounds runs of $secs s ($(nproc) CPUs)"
for pair in "none-$sq_hosts sqlite-$sq_hosts" "none-$ch_hosts clickhouse-$ch_hosts"; do
	set -- $pair
	awk -v a="$1" -v b="$2" -v ca="$(cpu "$1")" -v cb="$(cpu "$2")" -v r="$(rate "$2")" \
		'BEGIN { printf "%-18s CPU %5.1f%%  %-18s CPU %5.1f%%  ratio %.2fx  rows/s %s\n", a, ca, b, cb, cb / ca, r }'
done

# Bytes on disk a sample and a process-hour: the last round's stores.
db=$tmp/h$rounds.db
sqlite3 "$db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
samples=$(sqlite3 "$db" 'SELECT count(*) FROM samples')
events=$(sqlite3 "$db" 'SELECT count(*) FROM events')
bytes=$(sqlite3 "$db" "SELECT sum(pgsize) FROM dbstat WHERE name IN ('samples', 'samples_by_pid', 'samples_by_age')" 2>/dev/null)
[ -n "$bytes" ] || bytes=$(stat -c %s "$db")
echo "sqlite: $samples samples, $events events, file $(stat -c %s "$db") bytes; samples and their indexes $bytes bytes: $((bytes / samples)) bytes a sample"
ch_rows=$(sql "SELECT sum(rows) FROM system.parts WHERE database = 'bench$rounds' AND table = 'samples' AND active")
ch_bytes=$(sql "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'bench$rounds' AND table = 'samples' AND active")
echo "clickhouse: $ch_rows samples in $ch_bytes bytes: $(awk -v a="$ch_bytes" -v b="$ch_rows" 'BEGIN { printf "%.1f", a / b }') bytes a sample"
# A process-hour at bench_aggregator's churn (20 of 1,000 changed a second,
# so each of those sampled every 10 s) and at a quiet host's (sampled once
# a minute, PC_HIST_IDLE_EVERY rounds of 10 s).
per=$(awk -v s="$samples" -v h="$sq_hosts" -v t="$secs" 'BEGIN { printf "%.0f", s / (h * 1000) / (t / 3600) }')
echo "samples a process-hour here: $per (a quiet process: 60)"
echo "PASS"
