#!/bin/bash
# bench_history.sh: how fast the aggregator's history answers on a full
# store: HOURS (24) of HOSTS (100) hosts of PROCS (1,000) processes each,
# at the default sampling (a busy process, one in ten, sampled every 10 s;
# an idle one every minute) with a process ending and another starting on
# each host every 10 s. The store is filled directly (SQL that generates
# the rows, then the indexes: what the aggregator would have written over
# the day, in minutes), then a real aggregator answers pidcast-query:
# history of one process over an hour, events of an hour on one host, the
# busiest around a moment, each 21 times; medians and p90s, ms, with the
# client's own start included (pidcast-query is a process a call).
# usage: bench_history.sh BUILD_DIR sqlite|clickhouse [HOSTS PROCS HOURS]
# (clickhouse: a server of its own, tests/common/pc_clickhouse.sh)
set -u
build=$1 store=$2 hosts=${3:-100} procs=${4:-1000} hours=${5:-24}
agg=$build/clients/aggregator/pidcast-aggregator
query=$build/clients/query/pidcast-query
. "$(dirname "$0")/../common/pc_test.sh" # $tmp, $pids, fail, pc_bound

now=$(($(date +%s) * 1000))
t0=$((now - hours * 3600000))
busy=$((procs / 10))
ms() { echo $(($(date +%s%N) / 1000000)); }

case $store in
sqlite)
	db=$tmp/history.db
	url=sqlite:$db
	# The schema as the aggregator makes it, then the rows without the
	# indexes, which are made after (sorted once, not row by row).
	"$agg" --history "$url" --listen none --rpc "ipc://$tmp/rpc0" --publish none --metrics none \
		--bound-file "$tmp/b0" 2>"$tmp/agg0.err" &
	a=$!
	pids+=($a)
	pc_bound "$tmp/b0" rpc >/dev/null || fail "the aggregator did not start: $(cat "$tmp/agg0.err")"
	kill -TERM $a
	wait $a
	start=$(ms)
	sqlite3 "$db" >/dev/null <<-EOF || fail "filling the store failed"
		PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-1000000;
		DROP INDEX samples_by_pid; DROP INDEX samples_by_age;
		DROP INDEX events_by_time; DROP INDEX events_by_age;
		WITH RECURSIVE h(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM h WHERE i < $hosts - 1)
		INSERT INTO hosts (name) SELECT printf('sim%04d', i) FROM h;
		-- busy: every 10 s; idle: every minute (PID order within a tick).
		WITH RECURSIVE t(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM t WHERE k < $hours * 360 - 1),
		  p(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM p WHERE j < $procs - 1)
		INSERT INTO samples
		SELECT h.id, 100 + p.j, $t0 - 86400000, $t0 + t.k * 10000,
		       t.k * (CASE WHEN p.j < $busy THEN 2000000 ELSE 1000 END), t.k * 1000,
		       (50 << 20) + p.j * 4096, 4, t.k * 8192, t.k * 4096
		FROM t, hosts h, p WHERE p.j < $busy OR t.k % 6 = p.j % 6;
		-- a start and an exit a host every 10 s, of processes that lived 10 s.
		WITH RECURSIVE t(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM t WHERE k < $hours * 360 - 1)
		INSERT INTO events
		SELECT h.id, 100000 + t.k, $t0 + t.k * 10000 - 10000, x.kind,
		       $t0 + t.k * 10000 - 10000 * (1 - x.kind), 1, 'job-' || (t.k % 50),
		       '/usr/bin/job', '/usr/bin/job --run ' || t.k, 'svc', NULL, 'cron.service', NULL,
		       x.kind, 0, 0, 100000, 20000, 10 << 20, 4096, 4096
		FROM t, hosts h, (SELECT 0 AS kind UNION ALL SELECT 1) x;
		CREATE INDEX samples_by_pid ON samples (host_id, pid, time_ms);
		CREATE INDEX samples_by_age ON samples (time_ms);
		CREATE INDEX events_by_time ON events (host_id, time_ms);
		CREATE INDEX events_by_age ON events (time_ms);
		PRAGMA journal_mode=WAL;
	EOF
	echo "store: $(sqlite3 "$db" 'SELECT count(*) FROM samples') samples, $(sqlite3 "$db" 'SELECT count(*) FROM events') events, $(du -m "$db" | cut -f1) MB on disk, filled in $((($(ms) - start) / 1000)) s"
	;;
clickhouse)
	. "$(dirname "$0")/../common/pc_clickhouse.sh"
	pc_ch_init "$tmp/ch" || fail "no free ports for ClickHouse"
	pc_ch_start || fail "clickhouse-server did not start"
	url=clickhouse://127.0.0.1:$ch_http/bench
	sql() { clickhouse-client --host 127.0.0.1 --port "$ch_tcp" --max_memory_usage 8000000000 --query "$1"; }
	"$agg" --history "$url" --listen none --rpc "ipc://$tmp/rpc0" --publish none --metrics none \
		--bound-file "$tmp/b0" 2>"$tmp/agg0.err" &
	a=$!
	pids+=($a)
	pc_bound "$tmp/b0" rpc >/dev/null || fail "the aggregator did not start: $(cat "$tmp/agg0.err")"
	until sql "EXISTS TABLE bench.host_events" 2>/dev/null | grep -q 1; do sleep 0.2; done
	kill -TERM $a
	wait $a
	start=$(ms)
	ticks=$((hours * 360))
	name="concat('sim', substring(toString(10000 + h), 2))"
	sql "INSERT INTO bench.hosts SELECT concat('sim', substring(toString(10000 + number), 2)) FROM system.numbers LIMIT $hosts" ||
		fail "filling hosts"
	sql "INSERT INTO bench.samples SELECT $name, toUInt32(100 + j), toUInt64($t0 - 86400000),
		toUInt64($t0 + k * 10000), toUInt64(k * if(j < $busy, 2000000, 1000)), toUInt64(k * 1000),
		toUInt64(52428800 + j * 4096), toUInt32(4), toUInt64(k * 8192), toUInt64(k * 4096),
		toDate(intDiv($t0 + k * 10000, 1000))
		FROM (SELECT number % $procs AS j, intDiv(number, $procs) % $ticks AS k,
		      intDiv(number, $procs * $ticks) AS h FROM system.numbers LIMIT $((hosts * ticks * procs)))
		WHERE j < $busy OR k % 6 = j % 6" || fail "filling samples"
	sql "INSERT INTO bench.events SELECT $name, toUInt32(100000 + k), toUInt64($t0 + k * 10000 - 10000),
		toUInt8(x), toUInt64($t0 + k * 10000 - 10000 * (1 - x)), toUInt32(1), concat('job-', toString(k % 50)),
		'/usr/bin/job', concat('/usr/bin/job --run ', toString(k)), 'svc', '', 'cron.service', '',
		toUInt8(x), 0, 0, toUInt64(100000), toUInt64(20000), toUInt64(10485760), toUInt64(4096),
		toUInt64(4096), toDate(intDiv($t0 + k * 10000, 1000))
		FROM (SELECT number % 2 AS x, intDiv(number, 2) % $ticks AS k, intDiv(number, 2 * $ticks) AS h
		      FROM system.numbers LIMIT $((hosts * ticks * 2)))" || fail "filling events"
	sql "OPTIMIZE TABLE bench.samples" >/dev/null 2>&1 # as merges would have, over a day
	echo "store: $(sql 'SELECT count() FROM bench.samples') samples, $(sql 'SELECT count() FROM bench.events') events, $(($(sql "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'bench' AND active") / 1048576)) MB on disk, filled in $((($(ms) - start) / 1000)) s"
	;;
*) fail "usage: bench_history.sh BUILD_DIR sqlite|clickhouse [HOSTS PROCS HOURS]" ;;
esac

"$agg" --history "$url" --history-retain 30d --listen none --rpc "ipc://$tmp/rpc" --publish none \
	--metrics none --bound-file "$tmp/b" 2>"$tmp/agg.err" &
pids+=($!)
rpc=$(pc_bound "$tmp/b" rpc) || fail "the aggregator did not start: $(cat "$tmp/agg.err")"

# median and p90 of 21 runs of a query, ms
timed() {
	local name=$1 i t
	shift
	: >"$tmp/times"
	for i in $(seq 21); do
		t=$(ms)
		"$query" --rpc "$rpc" --timeout 30s "$@" >"$tmp/out" 2>"$tmp/err" ||
			fail "$name: $(cat "$tmp/err")"
		echo $(($(ms) - t)) >>"$tmp/times"
	done
	sort -n "$tmp/times" | awk -v n="$name" -v r="$(wc -l <"$tmp/out")" \
		'{ v[NR] = $1 } END { printf "%-40s median %4d ms  p90 %4d ms  (%d lines)\n", n, v[11], v[19], r }'
}
mid=$(((t0 + now) / 2))
host=$(printf sim%04d $((hosts / 2)))
iso() { date -u -d "@$(($1 / 1000))" +%Y-%m-%dT%H:%M:%SZ; }
# The floor: the client starting and one RPC that reads no store.
timed "hosts (no store read)" hosts
timed "history, busy process, 1 h" history $((100 + busy / 2)) --host "$host" --since "$(iso $((mid - 3600000)))" --until "$(iso $mid)"
timed "history, idle process, 1 h" history $((99 + procs)) --host "$host" --since "$(iso $((mid - 3600000)))" --until "$(iso $mid)"
timed "events, 1 h, one host" events --host "$host" --since "$(iso $((mid - 3600000)))" --until "$(iso $mid)"
timed "top 10 --at, one host" top 10 --at "$(iso $mid)" --host "$host"
timed "top 10 --at, every host" top 10 --at "$(iso $mid)"
echo "PASS"
