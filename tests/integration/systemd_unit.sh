#!/usr/bin/env bash
# The systemd unit (dist/pidcast-agent.service.in, as CMake configured it):
# systemd-analyze accepts it and rates its exposure low; its ExecStart, run
# with the unit's user, capabilities and no-new-privileges (setpriv stands
# in for systemd, which is not PID 1 here), still reads a root process in
# full; and every system call and socket family the running agent uses is
# one that the unit's SystemCallFilter and RestrictAddressFamilies allow;
# and --install-service points Linux users to it.
# usage: systemd_unit.sh UNIT AGENT QUERY SUB
set -u
unit=$1 agent=$2 query=$3 sub=$4
for t in systemd-analyze setpriv strace; do
	command -v "$t" >/dev/null || { echo "FAIL: $t missing (scripts/deps.sh installs it)"; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to drop to the unit's user"; exit 77; }

. "$(dirname "$0")/../common/pc_test.sh" # $tmp, $pids, fail, pc_bound
. "$(dirname "$0")/../common/pc_unit.sh" # pc_unit_*: the unit's checks

# The unit as installed names the installed agent; test the built one.
svc=$tmp/pidcast-agent.service
pc_unit_copy "$unit" "$agent" "$svc"

# 1. systemd's own checks.
pc_unit_analyze "$svc" 2.5

# 2. The unit's sandbox as far as it matters to reading /proc: setpriv's
# boxed (the unit's user and capabilities) and nocaps (none), and its
# command line, cmd.
pc_unit_box "$svc"
pc_unit_exec "$svc"

# A root process the agent must see in full: owner, exe, counters.
sleep 300 &
target=$!
pids+=($target)
# the record of pid $target in FILE
record() { grep -E "^\\{\"pid\":$target," "$1"; }

"${boxed[@]}" "${cmd[@]}" --once --json >"$tmp/boxed.json" 2>"$tmp/boxed.err" ||
	{ echo "FAIL: the sandboxed agent failed"; cat "$tmp/boxed.err"; exit 1; }
n=$(wc -l <"$tmp/boxed.json")
rec=$(record "$tmp/boxed.json")
[ -n "$rec" ] || { echo "FAIL: sandboxed agent ($n processes) missed pid $target"; exit 1; }
for want in '"user":"root"' '"exe":"[^"]*sleep"' '"partial":false'; do
	grep -qE "$want" <<<"$rec" || { echo "FAIL: no $want in $rec"; exit 1; }
done
echo "sandboxed ExecStart --once: $n processes, root's sleep ($target) read in full"

# The control: the same user without the capabilities cannot, so the
# check above is the capabilities' doing.
"${nocaps[@]}" "${cmd[@]}" --once --json >"$tmp/nocaps.json" 2>"$tmp/nocaps.err"
grep -q '"partial":true' <<<"$(record "$tmp/nocaps.json")" ||
	{ echo "FAIL: without capabilities the record is not partial: the check proves nothing"; exit 1; }
echo "without the unit's capabilities: root's sleep is partial (as it must be)"
# ...and the probe falls back to /proc, saying why, in one line.
grep -q '^pidcast-agent: probe procfs (bpf: not permitted to load BPF programs' "$tmp/nocaps.err" ||
	{ echo "FAIL: no fallback line without CAP_BPF: $(cat "$tmp/nocaps.err")"; exit 1; }
[ "$(wc -l <"$tmp/nocaps.err")" -eq 1 ] || { echo "FAIL: more than one line: $(cat "$tmp/nocaps.err")"; exit 1; }
echo "without CAP_BPF and CAP_PERFMON: $(cat "$tmp/nocaps.err")"
"${nocaps[@]}" "${cmd[@]}" --probe bpf --once --json >/dev/null 2>"$tmp/insist.err" &&
	{ echo "FAIL: --probe bpf ran without CAP_BPF"; exit 1; }
grep -q "cannot open probe 'bpf': not permitted" "$tmp/insist.err" ||
	{ echo "FAIL: unclear --probe bpf error: $(cat "$tmp/insist.err")"; exit 1; }
echo "--probe bpf insists: $(cat "$tmp/insist.err")"

# On Linux the Windows service flags point to this unit.
for flag in --install-service --uninstall-service; do
	"$agent" "$flag" >/dev/null 2>"$tmp/flag.err"
	rv=$?
	[ $rv -eq 1 ] && grep -q 'systemd.*pidcast-agent.service' "$tmp/flag.err" ||
		{ echo "FAIL: $flag exited $rv: $(cat "$tmp/flag.err")"; exit 1; }
done
echo "--install-service and --uninstall-service point to the unit"

# 3. The agent running for real, traced inside the sandbox, with a
# subscriber and a query, on ports the OS picks (port 0) instead of the
# unit's, learnt from --bound-file, which the sandboxed user may write.
mkdir -m 0777 "$tmp/trace"
pc_unit_port0 "${cmd[@]}"
run+=(--bound-file "$tmp/trace/bound")
# LeakSanitizer (an ASan build) cannot work under ptrace: no leak check here.
ASAN_OPTIONS=detect_leaks=0 "${boxed[@]}" strace -f -qq -o "$tmp/trace/log" "${run[@]}" \
	--interval 100ms --ticks 40 2>"$tmp/agent.err" &
agent_pid=$!
pids+=($agent_pid)
pub=$(pc_bound "$tmp/trace/bound" publish) || fail "the traced agent did not start: $(cat "$tmp/agent.err")"
rpc=$(pc_bound "$tmp/trace/bound" rpc)
"$sub" "$pub" --rpc "$rpc" --json --pid "$target" >"$tmp/events" 2>/dev/null &
pids+=($!)
ok=0
for _ in $(seq 1 50); do
	if "$query" --rpc "$rpc" --timeout 500ms --json get "$target" >"$tmp/get" 2>/dev/null; then
		ok=1
		break
	fi
	sleep 0.1
done
[ $ok -eq 1 ] || { echo "FAIL: no answer from the traced agent"; cat "$tmp/agent.err"; exit 1; }
grep -q '"partial":false' "$tmp/get" || { echo "FAIL: query got $(cat "$tmp/get")"; exit 1; }
wait "$agent_pid" || { echo "FAIL: the traced agent exited $?"; cat "$tmp/agent.err"; exit 1; }
grep -q "\"pid\":$target," "$tmp/events" || { echo "FAIL: the subscriber saw nothing"; exit 1; }
grep -q 'probe bpf,' "$tmp/agent.err" || { echo "FAIL: the unit's agent is not on bpf: $(cat "$tmp/agent.err")"; exit 1; }
echo "sandboxed agent under strace: probe bpf, query and stream answered"

# Its system calls and sockets, against the unit's lists.
pc_unit_calls "$svc" "$tmp/trace/log"
pc_unit_families "$svc" "$tmp/trace/log"
echo "PASS"
