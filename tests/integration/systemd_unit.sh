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

# key NAME: the values of the unit's NAME= lines, space-separated.
key() {
	sed -n "s/^$1=//p" "$tmp/pidcast-agent.service" | tr '\n' ' ' | sed 's/ *$//'
}

# The unit as installed names the installed agent; test the built one.
installed=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
[ -n "$installed" ] || { echo "FAIL: no ExecStart in $unit"; exit 1; }
sed "s|^ExecStart=$installed|ExecStart=$(realpath "$agent")|" "$unit" >"$tmp/pidcast-agent.service"

# 1. systemd's own checks. verify prints nothing for a good unit.
if ! systemd-analyze verify "$tmp/pidcast-agent.service" >"$tmp/verify" 2>&1 || [ -s "$tmp/verify" ]; then
	echo "FAIL: systemd-analyze verify:"
	cat "$tmp/verify"
	exit 1
fi
echo "systemd-analyze verify: clean"
systemd-analyze security --offline=true "$tmp/pidcast-agent.service" >"$tmp/security" 2>&1
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$tmp/security")
[ -n "$score" ] || { echo "FAIL: no exposure level"; cat "$tmp/security"; exit 1; }
echo "systemd-analyze security: exposure $score (0 safest, 10 unprotected)"
awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || { echo "FAIL: exposure $score over 2.5"; exit 1; }

# 2. The unit's sandbox as far as it matters to reading /proc. DynamicUser
# is a user with no rights of its own: nobody stands in for it.
[ "$(key DynamicUser)" = yes ] || { echo "FAIL: the unit does not set DynamicUser=yes"; exit 1; }
caps() { # "CAP_A CAP_B" -> "+a,+b"
	local out="" c
	for c in $1; do out+=",+$(tr '[:upper:]' '[:lower:]' <<<"${c#CAP_}")"; done
	echo "${out#,}"
}
ambient=$(caps "$(key AmbientCapabilities)")
bounding=$(caps "$(key CapabilityBoundingSet)")
box=(setpriv --reuid=65534 --regid=65534 --clear-groups)
[ "$(key NoNewPrivileges)" = yes ] && box+=(--no-new-privs)
boxed=("${box[@]}" --bounding-set="-all${bounding:+,$bounding}")
if [ -n "$ambient" ]; then
	boxed+=(--inh-caps="-all,$ambient" --ambient-caps="-all,$ambient")
fi
nocaps=("${box[@]}" --bounding-set=-all --inh-caps=-all)

# The unit's command line, split as systemd does for plain words.
read -r -a cmd <<<"$(key ExecStart)"

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
run=()
for w in "${cmd[@]}"; do
	case "$w" in
	tcp://127.0.0.1:7450 | tcp://127.0.0.1:7451) run+=(tcp://127.0.0.1:0) ;;
	*) run+=("$w") ;;
	esac
done
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

# expand GROUP...: the system calls of systemd's @groups, recursively.
expand() {
	local w
	for w in "$@"; do
		case "$w" in
		@*) expand $(systemd-analyze syscall-filter "$w" | sed -n '2,$p' | grep -v '^ *#') ;;
		*) echo "$w" ;;
		esac
	done
}
# The lines in order, as systemd merges them: a plain one adds its calls
# to the allowed set, a ~ one removes them.
: >"$tmp/allowed"
while read -r line; do
	case "$line" in
	~*)
		read -r -a w <<<"${line#\~}"
		expand "${w[@]}" | sort -u >"$tmp/deny"
		comm -23 "$tmp/allowed" "$tmp/deny" >"$tmp/next"
		;;
	*)
		read -r -a w <<<"$line"
		expand "${w[@]}" | sort -u | sort -u - "$tmp/allowed" >"$tmp/next"
		;;
	esac
	mv "$tmp/next" "$tmp/allowed"
done < <(sed -n 's/^SystemCallFilter=//p' "$tmp/pidcast-agent.service")
# strace lines: "PID name(args) = ret"; resumed and signal lines have no name(.
sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$tmp/trace/log" | sort -u >"$tmp/used"
# The one execve is strace starting the agent, before any filter applies.
used=$(grep -vx execve "$tmp/used")
bad=$(comm -23 <(echo "$used") "$tmp/allowed")
[ -z "$bad" ] || { echo "FAIL: system calls the unit's filter refuses: $(echo $bad)"; exit 1; }
echo "system calls used, all allowed by SystemCallFilter: $(echo "$used" | wc -l)"
families=$(sed -nE 's/^[0-9]+ +socket\((AF_[A-Z0-9]+),.*/\1/p' "$tmp/trace/log" | sort -u)
for f in $families; do
	grep -qw "$f" <<<"$(key RestrictAddressFamilies)" ||
		{ echo "FAIL: socket family $f outside RestrictAddressFamilies"; exit 1; }
done
echo "socket families used: $(echo $families) (all allowed)"
echo "PASS"
