#!/usr/bin/env bash
# The ClickHouse history store against a real server (Debian's
# clickhouse-server, started here with a folder and ports of its own,
# tests/common/pc_clickhouse.sh): test_hist_clickhouse calls the store's
# operations and SIGKILLs and restarts the server through PC_CH_CTL; then
# clickhouse-client reads what it left with plain SQL, and the server stops
# on SIGTERM.
# usage: history_clickhouse.sh TEST [WRAPPER...] (a wrapper such as valgrind
# runs the test under it)
set -u
test=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
for tool in clickhouse-server clickhouse-client curl flock ss; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/deps.sh installs it)"; exit 1; }
done
. "$here/../common/pc_test.sh"       # $tmp, fail
. "$here/../common/pc_clickhouse.sh" # pc_ch_*, stopped at exit

pc_ch_init "$tmp/ch" || fail "no free ports below the ephemeral range"
pc_ch_start || fail "clickhouse-server did not start"
echo "clickhouse-server $(cat "$ch_dir/pid"): http $ch_http, tcp $ch_tcp"

export PC_CH_ADDR=127.0.0.1:$ch_http
export PC_CH_CTL="bash $here/../common/pc_clickhouse.sh $ch_dir"
export PC_CH_EXPECT=$tmp/expect
"$@" "$test" || fail "test_hist_clickhouse"

# What the store wrote, as a plain client sees it: the batch that was
# written three times is there once by its key (merged or not yet), and
# at most three times in all.
sql() { clickhouse-client --host 127.0.0.1 --port "$ch_tcp" --query "$1"; }
declare -A key=([samples]="host, pid, time_ms, create_time_ms"
	[events]="host, pid, create_time_ms, kind" [host_events]="host, time_ms, up" [hosts]=host)
[ -s "$PC_CH_EXPECT" ] || fail "the test left no counts"
while read -r db table n; do
	all=$(sql "SELECT count() FROM $db.$table") || fail "clickhouse-client on port $ch_tcp"
	distinct=$(sql "SELECT uniqExact(${key[$table]}) FROM $db.$table")
	[ "$distinct" = "$n" ] || fail "$db.$table: $distinct distinct rows, not $n"
	if [ "$all" -lt "$n" ] || [ "$all" -gt $((3 * n)) ]; then
		fail "$db.$table: $all rows for $n written thrice"
	fi
	echo "$db.$table: $n rows ($all before merging)"
done <"$PC_CH_EXPECT"
sql "SELECT name FROM pc_rows.events WHERE pid = 100 AND kind = 0 ORDER BY create_time_ms LIMIT 1" >"$tmp/name"
printf 'web\\tserver\n' | cmp -s - "$tmp/name" || fail "name as TabSeparated: $(cat "$tmp/name")"

pc_ch_stop || fail "clickhouse-server did not stop on SIGTERM"
echo "clickhouse-server stopped"
