#!/bin/bash
# run_all.sh: builds and runs every benchmark (Linux, and Windows under Wine),
# then prints one summary table.
# usage: tests/bench/run_all.sh [--summary] [BUILD_DIR (default /tmp/pidcast-bench-build)]
# Run as root (it installs what is missing, and reads every process's /proc/PID/io).
# Full logs go to BUILD_DIR/bench-logs; it takes about 10 minutes. --summary
# prints the table again from the logs of the last run, without running.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
summary_only=0
if [ "${1:-}" = --summary ]; then
	summary_only=1
	shift
fi
build=${1:-/tmp/pidcast-bench-build}
logs=$build/bench-logs
bench=$build/tests/bench
port=19256 # process-exporter's, on loopback
pids=()

# The summary: one row a figure, from the logs.
col() { awk -v m="$2" -v c="$3" '$1 == m { print $c }' "$logs/$1.txt"; }
kv() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$logs/$1.txt"; }
row() { printf '%-50s %-22s %s\n' "$1" "$2" "$3"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
summary() {
	echo
	echo "summary ($(nproc) CPUs, Linux $(uname -r); medians; logs in $logs)"
	row "figure" "1k procs | 10k procs" "target"
	row "bpf tick, us a process (probe+cache)" "$(col peers-1k pidcast-bpf 2) | $(col peers-10k pidcast-bpf 2)" "<= 1"
	row "bpf tick, ms" "$(col peers-1k pidcast-bpf 3) | $(col peers-10k pidcast-bpf 3)" ""
	row "procfs tick, us a process (probe+cache)" "$(col peers-1k pidcast-procfs 2) | $(col peers-10k pidcast-procfs 2)" ""
	row "bare held-fd loop, us a process" "$(col peers-1k bare-loop 2) | $(col peers-10k bare-loop 2)" ""
	row "procfs / bare loop" "$(ratio "$(col peers-1k pidcast-procfs 2)" "$(col peers-1k bare-loop 2)") | $(ratio "$(col peers-10k pidcast-procfs 2)" "$(col peers-10k bare-loop 2)")" "<= 1.2x"
	for m in pidcast-procfs:0 bare-loop:0 ps:50 psutil:200 process-exporter:400; do
		row "${m%%:*} / bpf" \
			"$(col peers-1k "${m%%:*}" 5) | $(col peers-10k "${m%%:*}" 5)" \
			"$([ "${m##*:}" = 0 ] || echo ">= ${m##*:}x  ")(us a process: $(col peers-1k "${m%%:*}" 2) | $(col peers-10k "${m%%:*}" 2))"
	done
	row "bpf us a process, 10k / 1k" "$(ratio "$(col peers-10k pidcast-bpf 2)" "$(col peers-1k pidcast-bpf 2)")" "~1x (linear)"
	row "fds held at 10k (bpf | procfs | bare loop)" "$(awk '/^fds held/ { print $4 " | " $6 " | " $9 }' "$logs/peers-10k.txt" | tr -d ,)" "bpf: none a process; limit $(awk '/RLIMIT_NOFILE/ { print $NF; exit }' "$logs/probe.txt")"
	row "bench_bpf 1k, 30 rounds: bpf tick med | min, us a process" "$(awk '$1 == "bpf" { print $2 " | " $4 }' "$logs/bpf-1k.txt") ($(awk '$1 == "procfs" && $2 != "/" { print "procfs " $2 }' "$logs/bpf-1k.txt"))" "<= 1"
	row "bench_bpf 10k: bpf tick med | min" "$(awk '$1 == "bpf" { print $2 " | " $4 }' "$logs/bpf-10k.txt") ($(awk '$1 == "procfs" && $2 != "/" { print "procfs " $2 }' "$logs/bpf-10k.txt"))" "<= 1"
	row "bench_probe (1k, 15 rounds): probe / bare" "$(awk '/^probe \/ bare/ { print $4 }' "$logs/probe.txt")" "<= 1.2x"
	row "agent, 1k helpers, 1 s ticks: CPU % of a core" "$(kv agent cpu_pct)" "<= 0.3 (bpf)"
	row "agent, 10k helpers, 1 s ticks: CPU % of a core" "$(kv agent-10k cpu_pct)" "<= 2 (bpf)"
	row "agent on procfs, 1k helpers: CPU % of a core" "$(kv agent-procfs cpu_pct)" ""
	row "agent kernel memory, 1k: SUnreclaim growth bpf | procfs, MB" "$(kv agent slab_unreclaim_growth_mb) | $(kv agent-procfs slab_unreclaim_growth_mb)" "(bpf maps' memlock $(kv agent bpf_memlock_mb) MB)"
	row "  and SReclaimable growth (/proc dentries, inodes)" "$(kv agent slab_reclaim_growth_mb) | $(kv agent-procfs slab_reclaim_growth_mb)" ""
	row "fork-exec-exit loop with the agent: bpf | procfs" "$(awk '/^slowdown/ { print $3 " | " $5 }' "$logs/spawn.txt")" "bpf <= 1.05x (us a spawn: $(awk '/^median/ { print $6 " none" }' "$logs/spawn.txt"))"
	row "agent RSS | peak (VmHWM), MB, bpf" "$(kv agent rss_mb) | $(kv agent hwm_mb)" "(procfs $(kv agent-procfs rss_mb) | $(kv agent-procfs hwm_mb))"
	row "agent allocations a tick" "$(kv agent allocs_per_tick)" "0 ($(kv agent new_procs_per_tick) new processes a tick)"
	for t in "ipc idle" "tcp idle" "ipc busy" "tcp busy"; do
		row "stream $t: keyframe B/proc, delta p50 B (% of keyframe), latency p50 | p99 ms" \
			"$(awk -v t="$t" 'index($0, t) == 1 { gsub(/[(,%]/, ""); for (i = 1; i < NF; i++) { if ($i ~ /^B\/proc/) k = $(i - 1); if ($i == "p50" && d == "") d = $(i + 1); if ($i == "keyframe)") pc = $(i - 2) ; if ($i == "latency") { l50 = $(i + 2); l99 = $(i + 5) } } print k " | " d " (" pc "%) | " l50 " | " l99 }' "$logs/stream.txt")" \
			"$(case $t in *idle) echo "delta <= 5% of keyframe" ;; esac)"
	done
	row "100 subscribers at 10 ticks/s, 1k procs: synced, gaps" "$(awk '/subscribers/ { print $9 " | " $(NF - 1) }' "$logs/fanout.txt")" "0 gaps"
	row "GetProcess, 1 client: requests/s, p99 us" "$(awk '/^GetProcess, 1 client:/ { print $4 " | " $10 }' "$logs/fanout.txt")" ""
	row "GetProcess, 8 clients: requests/s, p99 us" "$(awk '/^GetProcess, 8 clients:/ { print $4 " | " $10 }' "$logs/fanout.txt")" ""
	if [ -f "$logs/winprobe.txt" ]; then
		row "Wine, about 107 procs: ntqsi | toolhelp, us a process" "$(awk '$1 == "ntqsi" { n = $2 } $1 == "toolhelp" && $2 != "/" { t = $2 } END { print n " | " t }' "$logs/winprobe.txt")" ""
		row "Wine: toolhelp / ntqsi" "$(awk '/toolhelp \/ ntqsi/ { print $NF }' "$logs/winprobe.txt")" ">= 5x"
	fi
	row "aggregator 1000x1000: CPU %, RSS MB" "$(awk '/^agents/ { for (i = 1; i < NF; i++) { if ($i == "CPU") c = $(i + 1); if ($i == "RSS") r = $(i + 1) } print c " | " r }' "$logs/aggregator.txt")" ""
}
if [ "$summary_only" -eq 1 ]; then
	summary
	exit 0
fi

cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

install_missing() {
	local p missing=()
	for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
	((${#missing[@]})) || return 0
	if [ "$(id -u)" != 0 ]; then
		echo "run_all: missing ${missing[*]}; run as root to install them" >&2
		exit 1
	fi
	echo "run_all: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } ||
		exit 1
}

# Runs "$@" with its output in $logs/NAME.txt; a failure is kept for the summary.
failed=()
run() {
	local name=$1
	shift
	echo "run_all: $name: $*"
	"$@" >"$logs/$name.txt" 2>&1 || failed+=("$name")
}

install_missing python3-psutil prometheus-process-exporter procps curl cmake gcc make
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
	cmake --build "$build" -j2 --target bench_probe bench_bpf bench_peers bench_stream bench_aggregator \
		bench_fanout bench_spawn pc_hold pc_malloc_count pidcast-agent >/dev/null || exit 1
mkdir -p "$logs"
# Room to hold four fds a process at 10,000 processes, as the systemd unit
# gives the agent (LimitNOFILE=524288); the probe and the bare loop get the
# same budget. Raising the hard limit needs root; without it the shell's
# limit stays, and at 10k processes some files are opened each tick.
ulimit -Hn 524288 2>/dev/null && ulimit -Sn 524288
# The Windows build and its dependencies (from Debian's sources, once), for
# bench_winprobe under Wine.
win=$root/build-win
"$root/scripts/deps.sh" >"$logs/deps.txt" 2>&1 &&
	cmake -S "$root" -B "$win" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/mingw-w64.cmake" >/dev/null &&
	cmake --build "$win" -j2 --target bench_winprobe pc_child >/dev/null ||
	echo "run_all: no Windows build (see $logs/deps.txt); bench_winprobe skipped"

run probe "$bench/bench_probe" --procs 1000 --rounds 15
run bpf-1k "$bench/bench_bpf" --procs 1000 --rounds 30
run bpf-10k "$bench/bench_bpf" --procs 10000 --rounds 15

# process-exporter, every process in a group of its name, without the extras
# (per-thread metrics, smaps) that pidcast does not read either.
printf 'process_names:\n  - name: "{{.Comm}}"\n    cmdline: [".*"]\n' >"$logs/process-exporter.yml"
prometheus-process-exporter -config.path "$logs/process-exporter.yml" -threads=false \
	-gather-smaps=false -web.listen-address "127.0.0.1:$port" >"$logs/process-exporter.log" 2>&1 &
exporter=$!
pids+=("$exporter")
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" && break; sleep 0.2; done
peers=(--psutil "$here/bench_psutil.py" --exporter "$exporter" "http://127.0.0.1:$port/metrics")
run peers-1k "$bench/bench_peers" --procs 1000 --rounds 9 "${peers[@]}"
run peers-10k "$bench/bench_peers" --procs 10000 --rounds 5 "${peers[@]}"
kill "$exporter" && wait "$exporter" 2>/dev/null
pids=()

run agent "$here/bench_agent.sh" "$build" 60 1000 bpf
run agent-procfs "$here/bench_agent.sh" "$build" 60 1000 procfs
run agent-10k "$here/bench_agent.sh" "$build" 60 10000 bpf
run spawn "$bench/bench_spawn" "$build/agent/pidcast-agent" --iters 2000 --rounds 9
run stream "$bench/bench_stream"
run aggregator "$bench/bench_aggregator" -a 1000 -p 1000 -s 40
"$bench/pc_hold" 1000 >/dev/null &
pids+=("$!")
sleep 2
run fanout "$bench/bench_fanout" "$build/agent/pidcast-agent"
cleanup
pids=()
if [ -x "$win/wine-run.sh" ] && [ -f "$win/tests/bench_winprobe.exe" ]; then
	"$win/wine-run.sh" --boot >/dev/null 2>&1
	(cd "$win/tests" && run winprobe ../wine-run.sh ./bench_winprobe.exe 100 pc_child.exe)
	"$win/wine-run.sh" --stop 2>/dev/null
fi

summary
if ((${#failed[@]})); then
	echo "run_all: failed: ${failed[*]} (see their logs)"
	exit 1
fi
