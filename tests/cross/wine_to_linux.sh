#!/usr/bin/env bash
# Across platforms: the Windows agent, under Wine, publishes over TCP to the
# native Linux pidcast-sub, which must see a Windows process start and exit.
# usage: wine_to_linux.sh WINE-RUN AGENT.EXE PC_CHILD.EXE NATIVE-PIDCAST-SUB
set -u
wine=$1 agent=$2 child=$3 sub=$4
[ -x "$sub" ] || { echo "FAIL: no native pidcast-sub at $sub (build natively first)"; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
	exec 7>&- 2>/dev/null
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

# wait_for FILE PATTERN SECONDS: a line of FILE matches, in time.
wait_for() {
	for _ in $(seq 1 $((${3} * 10))); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "FAIL: no line matching $2 in $1 after $3 s"
	tail -n 5 "$1"
	return 1
}

# Port 0: the OS picks free ports, and the agent writes which (a Unix path
# is Wine's Z: drive, the working folder's).
"$wine" "$agent" --publish tcp://127.0.0.1:0 --rpc tcp://127.0.0.1:0 --interval 200ms \
	--host wintest --bound-file "$tmp/bound" 2>"$tmp/agent.err" &
pids+=($!)
wait_for "$tmp/bound" '^rpc ' 60 || { cat "$tmp/agent.err"; exit 1; }
pub=$(awk '$1 == "publish" { print $2 }' "$tmp/bound")
rpc=$(awk '$1 == "rpc" { print $2 }' "$tmp/bound")
"$sub" "$pub" --rpc "$rpc" --json >"$tmp/events" 2>"$tmp/sub.err" &
pids+=($!)
wait_for "$tmp/events" '"host":"wintest"' 30 || { cat "$tmp/agent.err" "$tmp/sub.err"; exit 1; }
echo "native pidcast-sub follows the Windows agent"

# A Windows process that lives until its stdin closes.
mkfifo "$tmp/in"
"$wine" "$child" <"$tmp/in" >"$tmp/child.out" &
pids+=($!)
exec 7>"$tmp/in"
# Under load Wine may list a starting process before its image name is
# set, so the name can come as a change of a process just seen as new.
seen='"event":"(new|changed)".*"name":"pc_child.exe"'
wait_for "$tmp/events" "$seen" 20 || {
	cat "$tmp/child.out" "$tmp/agent.err" "$tmp/sub.err"
	exit 1
}
line=$(grep -E "$seen" "$tmp/events" | head -n1)
wpid=$(sed -E 's/.*"pid":([0-9]+).*/\1/' <<<"$line")
echo "saw pc_child.exe start: Windows pid $wpid"
grep -qE "\"event\":\"new\",\"host\":\"wintest\",\"pid\":$wpid,.*\"user\":" "$tmp/events" ||
	{ echo "FAIL: no new event with a user for pid $wpid"; exit 1; }

exec 7>&- # EOF on its stdin: it exits
wait_for "$tmp/events" "\"event\":\"exit\",\"host\":\"wintest\",\"pid\":$wpid," 20 || exit 1
echo "saw pc_child.exe exit"
echo "PASS"
