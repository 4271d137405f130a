#!/usr/bin/env bash
# The Windows agent as a service, under Wine: --install-service registers it
# with the flags given, the SCM starts it, the native Linux pidcast-sub and
# pidcast-query follow it over TCP, the SCM stops it (process gone),
# --uninstall-service removes it, and removes a running one after stopping
# it; one that cannot start reports why. Ends the prefix's wineserver (the SCM's services.exe lives there).
# usage: wine_service.sh WINE-RUN AGENT.EXE PC_SCM.EXE NATIVE-BUILD
set -u
wine=$1 agent=$2 scm=$3 native=$4
sub=$native/clients/sub/pidcast-sub
query=$native/clients/query/pidcast-query
for b in "$sub" "$query"; do
	[ -x "$b" ] || { echo "FAIL: no native $b (build natively first)"; exit 1; }
done

name=pidcast-agent
tmp=$(mktemp -d)
# Port 0: the OS picks free ports, and the service writes which to a file
# named as Windows names it (Z: is the Unix root under Wine; a service
# starts in Windows' own folder, so the path is absolute).
any=tcp://127.0.0.1:0
bound="Z:$tmp/svc.bound"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	"$wine" "$agent" --uninstall-service >/dev/null 2>&1
	exec 7>&- 2>/dev/null
	"$wine" --stop 2>/dev/null
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

# expect CODE PATTERN COMMAND...: COMMAND exits CODE and prints PATTERN.
expect() {
	local code=$1 pat=$2 rv
	shift 2
	"$@" >"$tmp/out" 2>&1
	rv=$?
	if [ $rv -ne "$code" ] || ! grep -qE -- "$pat" "$tmp/out"; then
		echo "FAIL: '$*' exited $rv (want $code) with:"
		cat "$tmp/out"
		exit 1
	fi
}

# A Wine process for the whole test, so that the wineserver and the SCM
# do not shut down and restart between two commands.
mkfifo "$tmp/hold"
"$wine" "$scm" hold <"$tmp/hold" &
pids+=($!)
exec 7>"$tmp/hold"
"$wine" "$agent" --uninstall-service >/dev/null 2>&1 # left by a run that was killed

# The host name has a blank: the command line the SCM runs must quote it.
expect 0 "installed the service $name" "$wine" "$agent" --install-service \
	--publish "$any" --rpc "$any" --interval 200ms --host "win svc" --bound-file "$bound"
expect 1 "already exists" "$wine" "$agent" --install-service
# The path is quoted too when it has a blank.
want="--service --publish $any --rpc $any --interval 200ms --host \"win svc\" --bound-file $bound[[:space:]]*\$"
expect 0 "^start auto path .*pidcast-agent.exe\"? $want" "$wine" "$scm" config "$name"
echo "installed: $(cat "$tmp/out")"

expect 0 "^RUNNING pid [1-9]" "$wine" "$scm" start "$name"
wpid=$(sed -nE 's/^RUNNING pid ([0-9]+).*/\1/p' "$tmp/out")
echo "the SCM started it: Windows pid $wpid"
wait_for "$tmp/svc.bound" '^rpc ' 30 || exit 1
pub=$(awk '$1 == "publish" { print $2 }' "$tmp/svc.bound")
rpc=$(awk '$1 == "rpc" { print $2 }' "$tmp/svc.bound")

"$sub" "$pub" --rpc "$rpc" --json >"$tmp/events" 2>"$tmp/sub.err" &
pids+=($!)
wait_for "$tmp/events" '"host":"win svc"' 30 || { cat "$tmp/sub.err"; exit 1; }
echo "native pidcast-sub follows the service's stream"
expect 0 "\"pid\":$wpid,.*\"name\":\"pidcast-agent.exe\".*--service" \
	"$query" --rpc "$rpc" --json get "$wpid"
echo "native pidcast-query: the service answers about itself (pid $wpid)"
# Its record names the service it hosts (the SCM's list, ntqsi, the
# default backend), and its state: running, not every thread suspended.
expect 0 "\"state\":\"R\",.*\"service\":\"$name\"" "$query" --rpc "$rpc" --json get "$wpid"
echo "ntqsi: the service's process has service \"$name\" and state R"

expect 0 "^STOPPED" "$wine" "$scm" stop "$name"
expect 0 "^gone" "$wine" "$scm" wait-gone "$wpid"
expect 2 "" "$query" --rpc "$rpc" --timeout 1s get "$wpid"
echo "the SCM stopped it: status STOPPED, process gone, RPC closed"

expect 0 "removed the service $name" "$wine" "$agent" --uninstall-service
expect 3 "error 1060" "$wine" "$scm" query "$name" # ERROR_SERVICE_DOES_NOT_EXIST
expect 1 "not found" "$wine" "$agent" --uninstall-service
echo "uninstalled: OpenService fails with ERROR_SERVICE_DOES_NOT_EXIST"

# Uninstalling a running service stops it first. This one runs the
# toolhelp backend, which names the service too (and gives no state).
rm -f "$tmp/svc.bound"
expect 0 "installed" "$wine" "$agent" --install-service --publish "$any" --rpc "$any" \
	--probe toolhelp --bound-file "$bound"
expect 0 "^RUNNING pid [1-9]" "$wine" "$scm" start "$name"
wpid=$(sed -nE 's/^RUNNING pid ([0-9]+).*/\1/p' "$tmp/out")
wait_for "$tmp/svc.bound" '^rpc ' 30 || exit 1
rpc=$(awk '$1 == "rpc" { print $2 }' "$tmp/svc.bound")
expect 0 "\"pid\":$wpid,.*\"state\":null,.*\"service\":\"$name\"" "$query" --rpc "$rpc" --json get "$wpid"
echo "toolhelp: the service's process has service \"$name\""
expect 0 "removed the service $name" "$wine" "$agent" --uninstall-service
expect 0 "^gone" "$wine" "$scm" wait-gone "$wpid"
expect 3 "error 1060" "$wine" "$scm" query "$name"
echo "uninstalling the running service (pid $wpid) stopped and removed it"

# A service that cannot start (its port is taken, here by the native agent,
# which holds it from the moment it writes its bound-file) stops with
# pidcast's error code as the service exit code.
"$native/agent/pidcast-agent" --publish "$any" --rpc "$any" --bound-file "$tmp/native.bound" \
	2>/dev/null &
pids+=($!)
wait_for "$tmp/native.bound" '^rpc ' 10 || exit 1
pub=$(awk '$1 == "publish" { print $2 }' "$tmp/native.bound")
rpc=$(awk '$1 == "rpc" { print $2 }' "$tmp/native.bound")
expect 0 "installed" "$wine" "$agent" --install-service --publish "$pub" --rpc "$rpc"
expect 1 "^STOPPED exit 1066 service exit 11[^0-9]" "$wine" "$scm" start "$name" # PC_EADDR
echo "with its port taken: $(tr -d '\r' <"$tmp/out") (1066: a service-specific code; 11: PC_EADDR)"
expect 0 "removed" "$wine" "$agent" --uninstall-service
echo "PASS"
