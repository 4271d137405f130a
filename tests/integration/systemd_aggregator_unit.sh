#!/usr/bin/env bash
# The aggregator's systemd unit (dist/pidcast-aggregator.service.in, as
# CMake configured it): systemd-analyze accepts it and rates its exposure
# low; its ExecStart, run with the unit's user, no capabilities and
# no-new-privileges (setpriv stands in for systemd, which is not PID 1
# here) and a state directory made as systemd makes StateDirectory=, takes
# a real agent's stream and keeps its history in $STATE_DIRECTORY/history.db;
# it stops cleanly on SIGTERM; and every system call, socket family, /proc
# file, device, memory mapping and written file of the traced run is one
# the unit allows.
# usage: systemd_aggregator_unit.sh UNIT AGGREGATOR AGENT QUERY
set -u
unit=$1 agg=$2 agent=$3 query=$4
for t in systemd-analyze setpriv strace sqlite3; do
	command -v "$t" >/dev/null || { echo "FAIL: $t missing (scripts/deps.sh installs it)"; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to drop to the unit's user"; exit 77; }

. "$(dirname "$0")/../common/pc_test.sh" # $tmp, $pids, fail, pc_bound
. "$(dirname "$0")/../common/pc_unit.sh" # pc_unit_*: the unit's checks

svc=$tmp/pidcast-aggregator.service
pc_unit_copy "$unit" "$agg" "$svc"
key() { pc_unit_key "$svc" "$1"; }

# 1. systemd's own checks.
pc_unit_analyze "$svc" 2.5

# 2. What the unit promises: no capability at all, and the history in its
# state directory (ExecStart names no --history, so the default applies).
[ -z "$(key AmbientCapabilities)" ] && grep -qx 'CapabilityBoundingSet=' "$svc" ||
	{ echo "FAIL: the unit grants capabilities: $(grep Capabilit "$svc")"; exit 1; }
[ "$(key StateDirectory)" = pidcast-aggregator ] || { echo "FAIL: StateDirectory is '$(key StateDirectory)'"; exit 1; }
[ "$(key ProtectSystem)" = strict ] || { echo "FAIL: ProtectSystem is '$(key ProtectSystem)'"; exit 1; }
pc_unit_box "$svc"
pc_unit_exec "$svc"
echo "unit: DynamicUser, no capabilities, StateDirectory=$(key StateDirectory), ProtectSystem=strict"

# The state directory as systemd makes it: the service's user owns it,
# with StateDirectoryMode. The user has no capability to pass through the
# test's root-only folder, which is opened to it (x only, no listing).
chmod 0711 "$tmp"
state=$tmp/state
mkdir -m "$(key StateDirectoryMode)" "$state" && chown 65534:65534 "$state" ||
	fail "cannot make the state directory"
mkdir -m 0777 "$tmp/trace"

# 3. The aggregator running for real, traced inside the sandbox, on ports
# the OS picks (port 0) instead of the unit's, learnt from --bound-file.
pc_unit_port0 "${cmd[@]}"
run+=(--bound-file "$tmp/trace/bound")
grep -q '127\.0\.0\.1:[1-9]' <<<"${run[*]}" && fail "a fixed port left in ${run[*]}"
# LeakSanitizer (an ASan build) cannot work under ptrace: no leak check here.
(umask "$(key UMask)" && exec env STATE_DIRECTORY="$state" ASAN_OPTIONS=detect_leaks=0 \
	"${boxed[@]}" strace -f -qq -o "$tmp/trace/log" "${run[@]}") 2>"$tmp/agg.err" &
strace_pid=$!
pids+=("$strace_pid")
listen=$(pc_bound "$tmp/trace/bound" listen 30) || fail "the traced aggregator did not start"
rpc=$(pc_bound "$tmp/trace/bound" rpc)
# strace's first line is its child's execve: the aggregator's PID.
agg_pid=$(sed -nE '1s/^([0-9]+) +execve\(.*/\1/p' "$tmp/trace/log")
[ -n "$agg_pid" ] || fail "no execve at the top of the trace"
pids+=("$agg_pid")

# A real agent, unsandboxed, with a host name no other test uses.
host=unitagg-$$
"$agent" --host "$host" --interval 250ms --publish "ipc://$tmp/agent.pub" --rpc "ipc://$tmp/agent.rpc" \
	--aggregator "$listen" 2>"$tmp/agent.err" &
agent_pid=$!
pids+=("$agent_pid")

# The host up and rows in the history, as the aggregator reports them.
written=0
deadline=$((SECONDS + 30))
while [ $SECONDS -lt $deadline ]; do
	if "$query" --rpc "$rpc" --timeout 1s --json hosts >"$tmp/hosts" 2>"$tmp/query.err" &&
		grep -q "^{\"host\":\"$host\",\"up\":true" "$tmp/hosts"; then
		written=$(sed -nE 's/^\{"history":.*"rows_written":([0-9]+).*/\1/p' "$tmp/hosts")
		[ "${written:-0}" -gt 0 ] && break
	fi
	sleep 0.1
done
grep -q "^{\"host\":\"$host\",\"up\":true" "$tmp/hosts" || fail "host $host not up: $(cat "$tmp/hosts")"
[ "${written:-0}" -gt 0 ] || fail "no history rows written: $(grep '"history"' "$tmp/hosts")"
grep -qF "\"store\":\"sqlite:$state/history.db\"" "$tmp/hosts" ||
	fail "the history is not in \$STATE_DIRECTORY: $(grep '"history"' "$tmp/hosts")"
db=$state/history.db
[ -f "$db" ] || fail "no $db"
[ "$(stat -c %u "$db")" = 65534 ] || fail "$db is not the service user's: $(stat -c %U "$db")"
echo "sandboxed aggregator under strace: host $host up, $written history rows written to \$STATE_DIRECTORY/history.db"

# A clean stop: the agent first (so the aggregator sees no more), then the
# aggregator on SIGTERM, the unit's KillSignal; strace exits as it did.
kill "$agent_pid"
wait "$agent_pid" 2>/dev/null
[ "$(key KillSignal)" = SIGTERM ] || fail "KillSignal is '$(key KillSignal)'"
kill -TERM "$agg_pid"
wait "$strace_pid"
rv=$?
[ $rv -eq 0 ] || fail "the aggregator exited $rv on SIGTERM"
echo "SIGTERM: the aggregator exited 0"
samples=$(sqlite3 "$db" "SELECT count(*) FROM samples JOIN hosts ON hosts.id = samples.host_id WHERE hosts.name = '$host'") ||
	fail "sqlite3 cannot read $db"
[ "$samples" -gt 0 ] || fail "no samples of $host in $db"
echo "sqlite3 $db: $samples samples of $host"

# 4. Its system calls, sockets, /proc files, memory, devices and writes,
# against the unit's lists and sandbox options. The bound file is the test's.
pc_unit_calls "$svc" "$tmp/trace/log"
pc_unit_families "$svc" "$tmp/trace/log"
pc_unit_proc "$tmp/trace/log"
pc_unit_wx "$tmp/trace/log"
pc_unit_devices "$tmp/trace/log"
pc_unit_writes "$tmp/trace/log" "$state" "$tmp/trace"
echo "PASS"
