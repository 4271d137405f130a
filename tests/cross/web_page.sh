#!/usr/bin/env bash
# The web page in a real browser: two native agents and a Windows agent
# under Wine feed a native aggregator with a history store; web_page.mjs
# drives Debian's chromium through the page and saves screenshots into
# OUT-DIR.
# usage: web_page.sh WINE-RUN AGENT.EXE NATIVE-BUILD-DIR OUT-DIR
set -u
wine=$1 winagent=$2 native=$3 out=$4
agg=$native/clients/aggregator/pidcast-aggregator
agent=$native/agent/pidcast-agent
for f in "$agg" "$agent"; do
	[ -x "$f" ] || { echo "FAIL: no $f (build natively first)"; exit 1; }
done
[ -x /usr/bin/chromium ] || { echo "FAIL: no /usr/bin/chromium (scripts/deps.sh installs it)"; exit 1; }
. "$(dirname "$0")/../common/pc_test.sh" # $tmp, $pids, fail, pc_bound
mkdir -p "$out"

# History sampled every second, so that a chart has points within seconds.
"$agg" --history "sqlite:$tmp/history.db" --history-every 1s --listen tcp://127.0.0.1:0 \
	--rpc "ipc://$tmp/agg.rpc" --publish none --metrics http://127.0.0.1:0/metrics \
	--bound-file "$tmp/agg.bound" 2>"$tmp/agg.err" &
pids+=($!)
listen=$(pc_bound "$tmp/agg.bound" listen) || fail "the aggregator did not start"
page=$(pc_bound "$tmp/agg.bound" web) || fail "the aggregator serves no page"
"$wine" "$winagent" --host win-one --publish tcp://127.0.0.1:0 --rpc tcp://127.0.0.1:0 \
	--aggregator "$listen" 2>"$tmp/win.err" &
pids+=($!)
"$agent" --host linux-one --publish "ipc://$tmp/a.pub" --rpc "ipc://$tmp/a.rpc" \
	--aggregator "$listen" 2>"$tmp/a.err" &
apid=$!
pids+=($apid)
"$agent" --host linux-two --publish "ipc://$tmp/b.pub" --rpc "ipc://$tmp/b.rpc" \
	--aggregator "$listen" 2>"$tmp/b.err" &
bpid=$!
pids+=($bpid)

# The Windows agent's pid is Wine's: asked of the aggregator once it is up.
wpid=
for _ in $(seq 300); do
	wpid=$(curl -s "${page}api/processes?host=win-one&q=pidcast-agent.exe&limit=1" |
		sed -nE 's/.*"processes":\[\{"pid":([0-9]+).*/\1/p')
	[ -n "$wpid" ] && break
	sleep 0.2
done
[ -n "$wpid" ] || fail "the Windows agent is not on the aggregator"
echo "page $page; agents linux-one:$apid linux-two:$bpid win-one:$wpid"

node "$(dirname "$0")/web_page.mjs" "$page" "$out" "linux-one:$apid" "linux-two:$bpid" \
	"win-one:$wpid" || fail "the page"
curl -sf "${page}metrics" | grep -q 'pidcast_host_up{host="win-one"} 1' ||
	fail "/metrics beside the page"
echo "screenshots: $out/web.png $out/web-detail.png $out/web-phone.png"
echo "PASS"
