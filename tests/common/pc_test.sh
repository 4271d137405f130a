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
