#!/usr/bin/env bash
# Across platforms over TLS: the Windows agent, under Wine, listens on
# tls+tcp:// with client certificates required and dials a native
# aggregator over mutual TLS. A native pidcast-sub with a certificate from
# the CA gets its stream, one without gets nothing, and the aggregator lists
# the Windows host.
# usage: wine_tls.sh WINE-RUN AGENT.EXE NATIVE-BUILD-DIR
set -u
wine=$1 winagent=$2 native=$3
agg=$native/clients/aggregator/pidcast-aggregator
sub=$native/clients/sub/pidcast-sub
query=$native/clients/query/pidcast-query
for f in "$agg" "$sub" "$query"; do
	[ -x "$f" ] || { echo "FAIL: no $f (build natively first)"; exit 1; }
done
. "$(dirname "$0")/../common/pc_test.sh" # $tmp, $pids, fail, pc_bound

. "$(dirname "$0")/../common/pc_certs.sh"
cd "$tmp" || exit 1
pc_make_certs || fail "certificates"
good=(--tls-ca ca.crt --tls-cert client.crt --tls-key client.key)
# Every listener on port 0: the OS picks free ports; the bound-files say which.
"$agg" --history none --listen tls+tcp://127.0.0.1:0 --rpc tls+tcp://127.0.0.1:0 --metrics none --publish none \
	--tls-cert aggsrv.crt --tls-key aggsrv.key --tls-ca ca.crt --tls-client-auth \
	--bound-file agg.bound 2>agg.err &
pids+=($!)
aggl=$(pc_bound agg.bound listen) || fail "the aggregator did not start"
aggr=$(pc_bound agg.bound rpc)
# Relative file names: Wine maps this folder as the Windows current one.
"$wine" "$winagent" --host wintls --interval 200ms --publish tls+tcp://127.0.0.1:0 \
	--rpc tls+tcp://127.0.0.1:0 --aggregator "$aggl" --bound-file win.bound \
	--tls-cert server.crt --tls-key server.key --tls-ca ca.crt --tls-client-auth 2>win.err &
pids+=($!)
pub=$(pc_bound win.bound publish 60) || fail "the Windows agent did not start"
rpc=$(pc_bound win.bound rpc)
# Not under timeout(1): killing it by PID would leave its child running.
"$sub" "$pub" --rpc "$rpc" "${good[@]}" --json --updates 3 >good.out 2>good.err &
gpid=$!
pids+=("$gpid")
for _ in $(seq 300); do kill -0 "$gpid" 2>/dev/null || break; sleep 0.2; done
kill "$gpid" 2>/dev/null
wait "$gpid"
grep -q '"event":"new","host":"wintls","pid":[0-9]*,.*"name":"pidcast-agent.exe"' good.out ||
	fail "native pidcast-sub with a certificate got no record of pidcast-agent.exe: $(head -c 300 good.out)"
echo "native pidcast-sub over mutual TLS: $(wc -l <good.out) JSON lines from the Windows agent"

"$sub" "$pub" --no-rpc --tls-ca ca.crt --json >nocert.out 2>nocert.err &
tries=($!)
"$sub" "$pub" --no-rpc --tls-ca ca.crt --tls-cert intruder.crt --tls-key intruder.key --json \
	>rogue.out 2>rogue.err &
tries+=($!)
pids+=("${tries[@]}")
t_tries=$SECONDS

for _ in $(seq 150); do
	"$query" --rpc "$aggr" "${good[@]}" --timeout 1s --json hosts >hosts.out 2>hosts.err &&
		grep -q '"host":"wintls","up":true' hosts.out && break
	sleep 0.2
done
grep -q '"host":"wintls","up":true' hosts.out || fail "the aggregator does not list wintls: $(cat hosts.out)"
echo "the Windows agent dials the aggregator over mutual TLS: $(cat hosts.out)"
while [ $((SECONDS - t_tries)) -lt 5 ]; do sleep 0.2; done
for p in "${tries[@]}"; do kill "$p" && wait "$p"; done
for n in nocert rogue; do
	[ -s "$n.out" ] && fail "$n: a refused subscriber received $(wc -c <"$n.out") bytes"
done
echo "no certificate, another CA's certificate: 0 bytes from the Windows agent in 4 s"
echo "PASS"
