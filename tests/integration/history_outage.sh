#!/usr/bin/env bash
# The aggregator's history in ClickHouse through an outage (issue 15): two
# aggregators, each fed by a real agent while a loop starts short-lived
# processes, write to a ClickHouse server of the test's own; the server is
# SIGKILLed, left dead for 10 s, and started again on the same ports.
# Meanwhile both answer queries. With the default buffer nothing is lost:
# the rows of the outage are in the store afterwards. With a buffer too
# small for 10 s the oldest rows are dropped and counted exactly: every row
# received is written or dropped, and the server holds exactly the rows
# written (by key: a batch the kill cut short is written again). What was
# recorded is then read through pidcast-query and clickhouse-client; and
# an aggregator restarted goes on with the same history.
# usage: history_outage.sh AGENT AGGREGATOR QUERY
set -u
agent=$1 agg=$2 query=$3
here=$(cd "$(dirname "$0")" && pwd)
for tool in clickhouse-server clickhouse-client curl flock ss; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/deps.sh installs it)"; exit 1; }
done
. "$here/../common/pc_test.sh"       # $tmp, $pids, fail, pc_bound
. "$here/../common/pc_clickhouse.sh" # pc_ch_*, stopped at exit

pc_ch_init "$tmp/ch" || fail "no free ports below the ephemeral range"
pc_ch_start || fail "clickhouse-server did not start"
sql() { clickhouse-client --host 127.0.0.1 --port "$ch_tcp" --query "$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

declare -A rpc
for a in big small; do
	extra=()
	[ $a = small ] && extra=(--history-buffer 32k)
	"$agg" --history "clickhouse://127.0.0.1:$ch_http/outage_$a" --history-every 1s "${extra[@]}" \
		--listen "ipc://$tmp/$a.in" --rpc "ipc://$tmp/$a.rpc" --publish none --metrics none \
		--bound-file "$tmp/$a.bound" 2>"$tmp/$a.err" &
	pids+=($!)
	echo $! >"$tmp/$a.pid"
	rpc[$a]=$(pc_bound "$tmp/$a.bound" rpc) || fail "aggregator $a did not start"
	"$agent" --host "outage-$a" --interval 250ms --keyframe 4 --publish tcp://127.0.0.1:0 \
		--rpc tcp://127.0.0.1:0 --aggregator "ipc://$tmp/$a.in" --bound-file "$tmp/agent-$a.bound" \
		2>"$tmp/agent-$a.err" &
	pids+=($!)
	echo $! >"$tmp/agent-$a.pid"
	pc_bound "$tmp/agent-$a.bound" rpc >/dev/null || fail "agent $a did not start"
done

# stat AGG KEY: a figure of the aggregator's history store (ListHosts).
stat() {
	"$query" --rpc "${rpc[$1]}" --timeout 5s --json hosts >"$tmp/hosts.$1" 2>"$tmp/hosts.$1.err" ||
		return 1
	grep '^{"history":' "$tmp/hosts.$1" | grep -o "\"$2\":[a-z0-9]*" | cut -d: -f2
}
# host_down AGG: its agent's host is down (its last row, a host event, made).
host_down() { stat "$1" up >/dev/null && grep -q "\"host\":\"outage-$1\",.*\"up\":false" "$tmp/hosts.$1"; }
# until_true SECONDS CMD...: polls CMD every 200 ms for up to SECONDS.
until_true() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}
written() { [ "$(stat "$1" rows_written)" -gt 0 ] 2>/dev/null; }
drained() { [ "$(stat "$1" rows_queued)" = 0 ] && [ "$(stat "$1" up)" = true ]; }

# Load: short-lived processes, each a start and an exit with its code.
(while :; do sh -c 'exit 3'; sleep 0.02; done) &
load=$!
pids+=($load)
for a in big small; do
	until_true 30 written $a || fail "aggregator $a wrote nothing: $(cat "$tmp/$a.err")"
done
echo "both aggregators writing: big $(stat big rows_written), small $(stat small rows_written) rows"

# The outage: the server dead for 10 s (time passing is what is tested).
kill_ms=$(now_ms)
pc_ch_kill || fail "clickhouse-server did not die"
for i in $(seq 10); do
	sleep 1
	for a in big small; do
		stat $a up >/dev/null || fail "aggregator $a did not answer during the outage ($i s)"
	done
done
for a in big small; do
	[ "$(stat $a up)" = false ] || fail "aggregator $a says its store is up while it is dead"
done
[ "$(stat big rows_dropped)" = 0 ] || fail "big dropped rows within its buffer"
[ "$(stat small rows_dropped)" -gt 0 ] || fail "small's 32k buffer did not overflow in 10 s"
echo "after 10 s down: big queued $(stat big rows_queued) rows ($(stat big bytes_queued) bytes), dropped 0; small queued $(stat small rows_queued) ($(stat small bytes_queued) bytes), dropped $(stat small rows_dropped)"
restart_ms=$(now_ms)
pc_ch_start || fail "clickhouse-server did not start again"
for a in big small; do
	until_true 90 drained $a || fail "aggregator $a did not catch up: $(cat "$tmp/hosts.$a")"
done
echo "caught up after the restart"

# No more rows: the load and the agents stop, then the counts settle.
kill "$load" "$(cat "$tmp/agent-big.pid")" "$(cat "$tmp/agent-small.pid")"
wait "$load" 2>/dev/null
for a in big small; do
	until_true 30 host_down $a || fail "aggregator $a did not see its host go down"
	until_true 30 drained $a || fail "aggregator $a did not drain"
done
declare -A tables=([samples]="host, pid, time_ms, create_time_ms"
	[events]="host, pid, create_time_ms, kind" [host_events]="host, time_ms, up")
for a in big small; do
	received=$(stat $a rows_received) written=$(stat $a rows_written) dropped=$(stat $a rows_dropped)
	[ "$received" -eq $((written + dropped)) ] ||
		fail "$a: $received rows received, $written written + $dropped dropped"
	stored=0
	for t in "${!tables[@]}"; do
		stored=$((stored + $(sql "SELECT uniqExact(${tables[$t]}) FROM outage_$a.$t")))
	done
	[ "$stored" -eq "$written" ] || fail "$a: the server holds $stored rows, $written were written"
	echo "$a: $received rows received = $written written (all in the store) + $dropped dropped"
done
n=$(sql "SELECT count() FROM outage_big.samples WHERE time_ms BETWEEN $kill_ms AND $restart_ms")
[ "$n" -gt 0 ] || fail "no samples of the outage in big's store"
echo "big: $n samples taken while the server was dead, in the store"
grep -q 'history: write failed' "$tmp/small.err" || fail "small did not log the failure: $(cat "$tmp/small.err")"
grep -q 'rows dropped' "$tmp/small.err" || fail "small did not log its drops"
grep -q 'up again' "$tmp/big.err" || fail "big did not log the recovery"

# What was recorded, as users read it: the short-lived processes and how
# they ended, through pidcast-query and through plain SQL.
"$query" --rpc "${rpc[big]}" events --host outage-big --since 5m --name sh >"$tmp/events" ||
	fail "pidcast-query events: $(cat "$tmp/events")"
grep -q ' exit 3$' "$tmp/events" || fail "no 'exit 3' among big's events: $(head -5 "$tmp/events")"
n=$(sql "SELECT count() FROM outage_big.events WHERE kind = 1 AND name = 'sh' AND exit_code = 3")
[ "$n" -gt 0 ] || fail "clickhouse-client: no exits of sh with code 3"
echo "big: $n short-lived processes ended with exit 3, in pidcast-query and clickhouse-client"

# A restarted aggregator goes on in the same database: a busy process seen
# before and after is one start, and its samples span both runs.
"$agent" --host outage-big --interval 250ms --publish tcp://127.0.0.1:0 --rpc tcp://127.0.0.1:0 \
	--aggregator "ipc://$tmp/big.in" 2>"$tmp/agent-again.err" &
pids+=($!)
(while :; do :; done) &
busy=$!
pids+=($busy)
has_start() { [ "$(sql "SELECT count() FROM outage_big.events WHERE pid = $busy AND kind = 0")" -ge 1 ]; }
sampled_after() {
	[ "$(sql "SELECT count() FROM outage_big.samples WHERE pid = $busy AND time_ms > $1")" -ge 1 ]
}
until_true 30 has_start || fail "no start of the busy process in big's store"
until_true 30 sampled_after 0 || fail "no sample of the busy process"
kill -TERM "$(cat "$tmp/big.pid")"
wait "$(cat "$tmp/big.pid")" 2>/dev/null
again_ms=$(now_ms)
"$agg" --history "clickhouse://127.0.0.1:$ch_http/outage_big" --history-every 1s \
	--listen "ipc://$tmp/big.in" --rpc "ipc://$tmp/big.rpc" --publish none --metrics none \
	--bound-file "$tmp/big2.bound" 2>"$tmp/big2.err" &
pids+=($!)
echo $! >"$tmp/big.pid"
rpc[big]=$(pc_bound "$tmp/big2.bound" rpc) || fail "aggregator big did not start again"
until_true 30 sampled_after "$again_ms" || fail "no sample of the busy process after the restart"
starts=$(sql "SELECT uniqExact(host, pid, create_time_ms) FROM outage_big.events WHERE pid = $busy AND kind = 0")
[ "$starts" = 1 ] || fail "the busy process has $starts starts across the restart"
ups=$(sql "SELECT uniqExact(time_ms) FROM outage_big.host_events WHERE host = 'outage-big' AND up = 1")
[ "$ups" -ge 2 ] || fail "outage-big came up $ups times, not at each start"
"$query" --rpc "${rpc[big]}" --json history "$busy" --host outage-big --since 5m >"$tmp/busy.json" ||
	fail "pidcast-query history: $(cat "$tmp/busy.json")"
first=$(head -n1 "$tmp/busy.json" | grep -o '"time_ms":[0-9]*' | cut -d: -f2)
last=$(tail -n1 "$tmp/busy.json" | grep -o '"time_ms":[0-9]*' | cut -d: -f2)
[ -n "$first" ] && [ "$first" -lt "$again_ms" ] && [ "$last" -gt "$again_ms" ] ||
	fail "the busy process's history does not span the restart ($first .. $last, restart $again_ms)"
echo "big restarted: pid $busy has one start, $(wc -l <"$tmp/busy.json") samples across the restart"
kill "$busy"

for a in big small; do
	kill -TERM "$(cat "$tmp/$a.pid")"
done
pc_ch_stop || fail "clickhouse-server did not stop"
echo "PASS"
