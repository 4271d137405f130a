#!/usr/bin/env bash
# tls+tcp:// end to end, with certificates made here by openssl: an agent
# that demands client certificates streams and answers to a client holding
# one from its CA, and gives nothing to a client with no certificate, with
# one from another CA, or speaking plain tcp://; a client refuses a server
# it cannot verify; agents reach an aggregator over mutual TLS, and only the
# one with a good certificate gets in; its metrics page, web page and API
# are served over https:// to clients with a certificate only.
# usage: tls.sh AGENT SUB QUERY AGGREGATOR
set -u
agent=$1 sub=$2 query=$3 agg=$4
. "$(dirname "$0")/../common/pc_test.sh" # $tmp, $pids, fail, pc_bound, pc_port
# ends_within PID SECONDS: PID exits in time (then its status is returned);
# if not, it is killed and the test fails.
ends_within() {
	local t
	for t in $(seq $(($2 * 10))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$1" 2>/dev/null; then
		local cmd
		cmd=$(tr '\0' ' ' <"/proc/$1/cmdline")
		kill -9 "$1"
		fail "pid $1 ($cmd) still running after $2 s"
	fi
	wait "$1"
}

# --- certificates (tests/common/pc_certs.sh).
. "$(dirname "$0")/../common/pc_certs.sh"
cd "$tmp" || exit 1
pc_make_certs || fail "certificates"
echo "certificates: CA, server, aggregator, client; another CA and its client"

# Nothing listens in the start-up errors: any port will do, so port 0.
pub=tls+tcp://127.0.0.1:0
rpc=tls+tcp://127.0.0.1:0
good=(--tls-ca ca.crt --tls-cert client.crt --tls-key client.key)

# --- start-up errors: a TLS URL without the files it needs.
# refuses NAME CMD...: CMD exits non-zero within 5 s, its stderr in NAME.err
# (one that starts after all is stopped, not left running).
refuses() {
	local name=$1 p
	shift
	"$@" >/dev/null 2>"$name.err" &
	p=$!
	pids+=("$p")
	for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill "$p" 2>/dev/null && { wait "$p"; return 1; }
	! wait "$p"
}
refuses nocert "$agent" --publish "$pub" --rpc "$rpc" || fail "agent listened on TLS without a certificate"
grep -q 'needs --tls-cert and --tls-key' nocert.err || fail "unclear error without a certificate: $(cat nocert.err)"
refuses noca "$agent" --publish "$pub" --rpc "$rpc" --tls-cert server.crt --tls-key server.key \
	--tls-client-auth || fail "agent demanded client certificates without a CA"
grep -q 'needs --tls-ca' noca.err || fail "unclear error for --tls-client-auth without --tls-ca: $(cat noca.err)"
refuses subnoca "$sub" "$pub" --json || fail "pidcast-sub dialed TLS without a CA"
grep -q 'needs --tls-ca' subnoca.err || fail "unclear error for a client without --tls-ca: $(cat subnoca.err)"
refuses half "$query" --rpc "$rpc" --tls-ca ca.crt --tls-cert client.crt get 1 ||
	fail "a certificate without its key was taken"
grep -q -- '--tls-cert and --tls-key go together' half.err || fail "unclear error for a lone --tls-cert: $(cat half.err)"
refuses nokey "$agent" --publish "$pub" --rpc "$rpc" --tls-cert server.crt --tls-key missing.key ||
	fail "agent started with a missing key"
grep -q 'cannot read key missing.key' nokey.err || fail "unclear error for a missing key: $(cat nokey.err)"
echo "start-up errors: clear, and nothing listens"
rm -f ./*.err

# --- an agent with mutual TLS on both sockets, on ports P and P+1, the
# layout from which pidcast-sub derives the RPC URL (checked below). The
# OS picks P (port 0, read back from the bound-file of a first start);
# should another process take P or P+1 before the second start, it fails
# with "Address in use" and the pair is picked again.
tls_agent=(--host tlshost --interval 200ms --tls-cert server.crt --tls-key server.key
	--tls-ca ca.crt --tls-client-auth)
apid=
for _ in $(seq 20); do
	rm -f pick.bound agent.bound
	"$agent" "${tls_agent[@]}" --publish tls+tcp://127.0.0.1:0 --rpc "ipc://$tmp/pick.rpc" \
		--bound-file pick.bound 2>pick.err &
	p=$!
	pids+=("$p")
	port=$(pc_port "$(pc_bound pick.bound publish)") || fail "the agent did not start"
	kill "$p" && wait "$p"
	pub=tls+tcp://127.0.0.1:$port
	rpc=tls+tcp://127.0.0.1:$((port + 1))
	"$agent" "${tls_agent[@]}" --publish "$pub" --rpc "$rpc" --bound-file agent.bound 2>agent.err &
	apid=$!
	pids+=("$apid")
	pc_bound agent.bound rpc >/dev/null && break
	kill "$apid" 2>/dev/null; wait "$apid" 2>/dev/null
	grep -q 'Address in use' agent.err || fail "the TLS agent did not start: $(cat agent.err)"
	apid=
done
[ -n "$apid" ] || fail "no free pair of ports in 20 picks"
for _ in $(seq 50); do
	"$query" --rpc "$rpc" "${good[@]}" --timeout 1s --json get "$apid" >get.out 2>get.err && break
	sleep 0.1
done
grep -q "\"pid\":$apid," get.out || fail "RPC over TLS: no record of the agent's own pid $apid: $(cat get.out)"
echo "RPC over TLS with a client certificate: get $apid -> $(head -c 80 get.out)..."

# The stream, and the clients that must get none of it, side by side.
"$sub" "$pub" "${good[@]}" --json --pid "$apid" --updates 40 >good.out 2>good.err &
gpid=$!
pids+=("$gpid")
tries=()
# Started here, not under timeout(1): killing timeout by PID would leave its
# child redialing.
try_sub() { # NAME URL ARGS...: a subscriber, stopped below
	local name=$1
	shift
	"$sub" "$@" --json >"$name.out" 2>"$name.err" &
	pids+=($!)
	tries+=($!)
}
# --no-rpc: the stream is what is checked.
try_sub nocert "$pub" --no-rpc --tls-ca ca.crt
try_sub rogue "$pub" --no-rpc --tls-ca ca.crt --tls-cert intruder.crt --tls-key intruder.key
try_sub plain "tcp://127.0.0.1:$port" --no-rpc
try_sub untrusted "$pub" --no-rpc --tls-ca rogue.crt --tls-cert client.crt --tls-key client.key
try_sub wrongname "$pub" --no-rpc "${good[@]}" --tls-server-name elsewhere.example
try_sub byname "$pub" --no-rpc "${good[@]}" --tls-server-name localhost
t_tries=$SECONDS
"$query" --rpc "$rpc" --tls-ca ca.crt --timeout 1s get "$apid" >qnocert.out 2>qnocert.err
qnocert=$?
"$query" --rpc "$rpc" --tls-ca ca.crt --tls-cert intruder.crt --tls-key intruder.key --timeout 1s \
	get "$apid" >qrogue.out 2>qrogue.err
qrogue=$?
"$query" --rpc "tcp://127.0.0.1:$((port + 1))" --timeout 1s get "$apid" >qplain.out 2>qplain.err
qplain=$?
# The RPC URL pidcast-sub derives must keep tls+tcp://: then its REQ socket
# holds a connection to the agent's RPC port, which a plain tcp:// dial to
# a TLS listener never keeps.
established() { # PID PORT: PID has an established TCP connection to PORT
	local inodes
	inodes=$(find "/proc/$1/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n' | tr '\n' ' ')
	awk -v port="$(printf '%04X' "$2")" -v list=" $inodes " '
		NR > 1 && $4 == "01" && split($3, r, ":") == 2 && r[2] == port &&
			index(list, " " $10 " ") { found = 1 }
		END { exit !found }' /proc/net/tcp
}
for _ in 1 2 3; do
	established "$gpid" $((port + 1)) || fail "pidcast-sub holds no connection to the derived RPC URL $rpc"
	sleep 0.3
done
echo "pidcast-sub's derived RPC URL: an established connection to $rpc"
ends_within "$gpid" 30
while [ $((SECONDS - t_tries)) -lt 5 ]; do sleep 0.2; done
for p in "${tries[@]}"; do kill "$p" && ends_within "$p" 10; done

grep -q "\"event\":\"new\",\"host\":\"tlshost\",\"pid\":$apid," good.out ||
	fail "a client with a good certificate got no record of pid $apid: $(head -c 300 good.out)"
echo "stream over mutual TLS: $(wc -l <good.out) JSON lines for pid $apid"
grep -q '"host":"tlshost"' byname.out || fail "--tls-server-name localhost: nothing received"
echo "--tls-server-name localhost: $(wc -l <byname.out) lines"
for n in nocert rogue plain untrusted wrongname; do
	[ -s "$n.out" ] && fail "$n: a refused subscriber received $(wc -c <"$n.out") bytes"
done
echo "no certificate, another CA's certificate, plain tcp://, an untrusted server, a wrong"
echo "server name: 0 bytes received in 4 s or more each"
for n in qnocert qrogue qplain; do
	[ "${!n}" -eq 2 ] || fail "$n: pidcast-query exited ${!n}, not 2"
	[ -s "$n.out" ] && fail "$n: pidcast-query printed a record"
	grep -q 'cannot reach agent' "$n.err" || fail "$n: unclear error: $(cat "$n.err")"
done
grep -q 'TLS refused' qnocert.err || fail "the TLS refusal is not named: $(cat qnocert.err)"
echo "pidcast-query without a certificate: $(cat qnocert.err)"

# --- aggregator over mutual TLS: one agent with a certificate from the CA,
# one with the other CA's.
"$agg" --history none --listen tls+tcp://127.0.0.1:0 --rpc tls+tcp://127.0.0.1:0 --metrics https://127.0.0.1:0/metrics \
	--publish tls+tcp://127.0.0.1:0 \
	--tls-cert aggsrv.crt --tls-key aggsrv.key --tls-ca ca.crt --tls-client-auth \
	--bound-file agg.bound 2>agg.err &
pids+=($!)
aggl=$(pc_bound agg.bound listen) || fail "the aggregator did not start"
aggr=$(pc_bound agg.bound rpc)
metrics=$(pc_bound agg.bound metrics)
# Their own sockets are not what is tested here: ipc://.
"$agent" --host tlsmember --interval 200ms --publish "ipc://$tmp/member.pub" \
	--rpc "ipc://$tmp/member.rpc" --aggregator "$aggl" \
	--tls-cert server.crt --tls-key server.key --tls-ca ca.crt 2>member.err &
pids+=($!)
"$agent" --host tlsintruder --interval 200ms --publish "ipc://$tmp/intruder.pub" \
	--rpc "ipc://$tmp/intruder.rpc" --aggregator "$aggl" \
	--tls-cert intruder.crt --tls-key intruder.key --tls-ca ca.crt 2>intruder.err &
pids+=($!)
for _ in $(seq 100); do
	"$query" --rpc "$aggr" "${good[@]}" --timeout 1s --json hosts >hosts.out 2>hosts.err &&
		grep -q '"host":"tlsmember","up":true' hosts.out && break
	sleep 0.1
done
grep -q '"host":"tlsmember","up":true' hosts.out || fail "the aggregator does not list tlsmember: $(cat hosts.out)"
sleep 2 # time for the intruder, were it let in
"$query" --rpc "$aggr" "${good[@]}" --timeout 1s --json hosts >hosts.out 2>hosts.err ||
	fail "hosts over TLS failed: $(cat hosts.err)"
grep -q tlsintruder hosts.out && fail "the aggregator took an agent with another CA's certificate"
echo "aggregator over mutual TLS: hosts -> $(tr '\n' ' ' <hosts.out)"
curl -sf --cacert ca.crt --cert client.crt --key client.key "$metrics" >page.out ||
	fail "curl with a client certificate could not get $metrics"
grep -q '^pidcast_host_up{host="tlsmember"} 1' page.out || fail "the https metrics page has no tlsmember"
curl -sf --cacert ca.crt "$metrics" >nocert.page 2>&1 && fail "https metrics served a client without a certificate"
curl -sf --cacert ca.crt --cert intruder.crt --key intruder.key "$metrics" >rogue.page 2>&1 &&
	fail "https metrics served a client with another CA's certificate"
# The web page and its API are on the same server, behind the same rule.
web=$(pc_bound agg.bound web) || fail "the aggregator names no web page"
curl -sf --cacert ca.crt --cert client.crt --key client.key "$web" | grep -qi '<html' ||
	fail "the https web page was not served to a client with a certificate"
curl -sf --cacert ca.crt --cert client.crt --key client.key "${web}api/hosts" |
	grep -q '"host":"tlsmember","up":true' || fail "the https API has no tlsmember"
curl -sf --cacert ca.crt "${web}api/hosts" >/dev/null 2>&1 &&
	fail "the https API served a client without a certificate"
echo "metrics over https with client certificates: $(wc -l <page.out) lines; none without one; the page and API too"
echo "PASS"
