# pc_test.sh: the start of every shell test, sourced: $tmp, a temporary
# folder removed at exit; $pids, the processes the test started, killed at
# exit by PID; fail MESSAGE, which shows the tail of each $tmp/*.err.
tmp=$(mktemp -d)
pids=()
pc_test_cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap pc_test_cleanup EXIT
fail() {
	echo "FAIL: $*"
	for f in "$tmp"/*.err; do [ -s "$f" ] && { echo "--- $f"; tail -n 5 "$f"; }; done
	exit 1
}
# pc_bound FILE NAME [SECONDS]: waits (10 s unless told) until FILE, a
# --bound-file of pidcast-agent or pidcast-aggregator, names NAME, and
# prints its URL. Listeners take port 0, so the OS picks a free port and
# nothing guesses.
pc_bound() {
	local i url
	for i in $(seq $((${3:-10} * 100))); do
		url=$(awk -v n="$2" '$1 == n { print $2 }' "$1" 2>/dev/null)
		[ -n "$url" ] && { echo "$url"; return 0; }
		sleep 0.01
	done
	return 1
}
# pc_port URL: the port of tcp://HOST:PORT or http://HOST:PORT/PATH.
pc_port() {
	sed -E 's|^[a-z+]+://[^/]*:([0-9]+).*|\1|' <<<"$1"
}
