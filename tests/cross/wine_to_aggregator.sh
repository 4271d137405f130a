#!/usr/bin/env bash
# Across platforms: a Windows agent under Wine and two native agents (other
# --host names) feed one native pidcast-aggregator; queries to it return
# each host's processes.
# usage: wine_to_aggregator.sh WINE-RUN AGENT.EXE NATIVE-BUILD-DIR
set -u
wine=$1 winagent=$2 native=$3
agg=$native/clients/aggregator/pidcast-aggregator
agent=$native/agent/pidcast-agent
query=$native/clients/query/pidcast-query
for f in "$agg" "$agent" "$query"; do
	[ -x "$f" ] || { echo "FAIL: no $f (build natively first)"; exit 1; }
done
. "$(dirname "$0")/../common/pc_test.sh" # $tmp, $pids, fail, pc_bound

# The aggregator takes TCP (the Windows agent dials it from Wine) on a port
# the OS picks; the agents' own sockets are not under test here.
"$agg" --history none --listen tcp://127.0.0.1:0 --rpc "ipc://$tmp/agg.rpc" --metrics none --publish none \
	--bound-file "$tmp/agg.bound" 2>"$tmp/agg.err" &
pids+=($!)
listen=$(pc_bound "$tmp/agg.bound" listen) || fail "the aggregator did not start"
q() { "$query" --rpc "ipc://$tmp/agg.rpc" --json "$@"; }
"$wine" "$winagent" --host wintest --interval 200ms --publish tcp://127.0.0.1:0 \
	--rpc tcp://127.0.0.1:0 --aggregator "$listen" 2>"$tmp/win.err" &
pids+=($!)
"$agent" --host linuxtest --interval 200ms --publish "ipc://$tmp/lin.pub" \
	--rpc "ipc://$tmp/lin.rpc" --aggregator "$listen" 2>"$tmp/lin.err" &
pids+=($!)
"$agent" --host linuxtwo --interval 200ms --publish "ipc://$tmp/lin2.pub" \
	--rpc "ipc://$tmp/lin2.rpc" --aggregator "$listen" 2>"$tmp/lin2.err" &
pids+=($!)

for _ in $(seq 150); do
	q hosts >"$tmp/hosts" 2>/dev/null
	n=$(grep -cE '"host":"(wintest|linuxtest|linuxtwo)","up":true' "$tmp/hosts")
	[ "$n" -eq 3 ] && break
	sleep 0.2
done
cat "$tmp/hosts"
grep -q '"host":"wintest","up":true' "$tmp/hosts" || { echo "FAIL: wintest not up"; cat "$tmp"/*.err; exit 1; }
grep -q '"host":"linuxtest","up":true' "$tmp/hosts" || { echo "FAIL: linuxtest not up"; cat "$tmp"/*.err; exit 1; }
grep -q '"host":"linuxtwo","up":true' "$tmp/hosts" || { echo "FAIL: linuxtwo not up"; cat "$tmp"/*.err; exit 1; }

q list --host wintest --name 'pidcast-agent*' >"$tmp/win" || { echo "FAIL: list wintest"; exit 1; }
grep -q '"name":"pidcast-agent.exe"' "$tmp/win" || { echo "FAIL: wintest lists no pidcast-agent.exe"; cat "$tmp/win"; exit 1; }
grep -q '"exe":"Z:' "$tmp/win" || { echo "FAIL: no Windows image path"; exit 1; }
q list --host linuxtest --name 'pidcast-agent' >"$tmp/lin" || { echo "FAIL: list linuxtest"; exit 1; }
grep -q '"exe":"/' "$tmp/lin" || { echo "FAIL: linuxtest lists no native agent"; exit 1; }
q list --host linuxtwo --name 'pidcast-agent' | grep -q '"exe":"/' || { echo "FAIL: linuxtwo lists no native agent"; exit 1; }
wpid=$(sed -E 's/^\{"pid":([0-9]+),.*/\1/' "$tmp/win" | head -n1)
q get "$wpid" --host wintest | grep -q '"name":"pidcast-agent.exe"' || { echo "FAIL: get $wpid on wintest"; exit 1; }
echo "wintest: $(wc -l <"$tmp/win") pidcast-agent.exe, linuxtest: $(wc -l <"$tmp/lin") pidcast-agent"
echo "PASS"
