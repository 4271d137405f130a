#!/bin/bash
# bench_agent.sh: the real agent's CPU, RSS and allocations a tick with N helper processes.
# usage: bench_agent.sh BUILD_DIR [SECONDS (60)] [PROCS (1000)] [PROBE (the agent's default)]
# Prints one "agent:" line of figures; the steady window runs from second 10 to the end.
# Kernel memory: the growth of Slab (/proc/meminfo, unreclaimable and
# reclaimable) from before the agent started to the end, and the memlock of
# the BPF maps it holds (ring buffer included).
set -u
build=${1:?usage: bench_agent.sh BUILD_DIR [SECONDS] [PROCS]}
secs=${2:-60}
procs=${3:-1000}
probe=${4:+--probe $4}
warm=10
tmp=$(mktemp -d /tmp/pc-bench-agent.XXXXXX)
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# utime + stime of PID, in clock ticks.
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# mallocs + callocs + reallocs the shim has counted, after asking it with SIGUSR1.
allocs() {
	kill -USR1 "$1"
	sleep 0.2
	grep 'pc_malloc_count:' "$tmp/agent.err" | tail -1 | awk '{ print $3 + $5 + $7 }'
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# Slab, as "unreclaimable reclaimable" kB: the first is what the agent's open
# files and maps pin; the second is mostly /proc's dentries and inodes, a cache.
slab_kb() { awk '$1 == "SUnreclaim:" { u = $2 } $1 == "SReclaimable:" { r = $2 } END { print u, r }' /proc/meminfo; }
# The memlock the kernel charges for the BPF maps PID holds, in bytes.
bpf_memlock() { cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '$1 == "memlock:" { n += $2 } END { print n + 0 }'; }

"$build/tests/bench/pc_hold" "$procs" >"$tmp/hold.out" &
pids+=($!)
until grep -q helpers "$tmp/hold.out" 2>/dev/null; do sleep 0.2; done

sync
echo 2 >/proc/sys/vm/drop_caches 2>/dev/null # reclaimable slab out, so that the growth is the agent's
read -r su0 sr0 <<<"$(slab_kb)"
# shellcheck disable=SC2086 # $probe is empty or two words
LD_PRELOAD="$build/tests/bench/libpc_malloc_count.so" "$build/agent/pidcast-agent" $probe \
	--interval 1s --publish "ipc://$tmp/x.pub" --rpc "ipc://$tmp/x.rpc" \
	>/dev/null 2>"$tmp/agent.err" &
agent=$!
pids=("$agent" "${pids[@]}")
t0=$(date +%s.%N)
calc() { awk "BEGIN { x = $1; printf \"%.${2:-2}f\", x < 0 ? 0 : x }"; }
sleep_until() { sleep "$(calc "$t0 + $1 - $(date +%s.%N)" 3)"; }

sleep_until "$warm.5" # between two ticks: they start on whole seconds
forks() { awk '$1 == "processes" { print $2 }' /proc/stat; }
c0=$(cpu_ticks "$agent") a0=$(allocs "$agent") w0=$(date +%s.%N) f0=$(forks)
sleep_until "$secs.5"
c1=$(cpu_ticks "$agent") a1=$(allocs "$agent") w1=$(date +%s.%N) f1=$(forks)
rss=$(status_kb "$agent" VmRSS) hwm=$(status_kb "$agent" VmHWM)
read -r su1 sr1 <<<"$(slab_kb)"
memlock=$(bpf_memlock "$agent")
used=$(sed -n 's/.*probe \([a-z]*\),.*/\1/p' "$tmp/agent.err" | head -1)
procs_seen=$(ls /proc | grep -c '^[0-9]')
ticks=$((secs - warm))
hz=$(getconf CLK_TCK)
echo "agent: $procs_seen processes, probe $used, ${secs}s at 1s ticks; steady window ${ticks} ticks:" \
	"cpu_pct $(calc "100 * ($c1 - $c0) / $hz / ($w1 - $w0)")" \
	"rss_mb $(calc "$rss / 1024" 1) hwm_mb $(calc "$hwm / 1024" 1)" \
	"allocs_per_tick $(calc "($a1 - $a0) / $ticks" 1) (allocs $a0 at tick $warm, $a1 at tick $secs)" \
	"new_procs_per_tick $(calc "($f1 - $f0) / $ticks" 1)" \
	"slab_unreclaim_growth_mb $(calc "($su1 - $su0) / 1024" 1)" \
	"slab_reclaim_growth_mb $(calc "($sr1 - $sr0) / 1024" 1) bpf_memlock_mb $(calc "$memlock / 1048576" 1)"
