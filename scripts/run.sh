#!/usr/bin/env bash
# Installs what is missing, builds natively into build/, starts the agent and
# shows its live stream with pidcast-sub. Ctrl-C stops both.
# Arguments go to pidcast-agent (try: scripts/run.sh --interval 500ms).
# scripts/run.sh --once prints one snapshot as JSON lines instead.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/deps.sh --native
mkdir -p build
cmake -S . -B build >build/configure.log 2>&1 || { tail -n 30 build/configure.log; exit 1; }
cmake --build build -j "$(nproc)" >build/build.log 2>&1 || { grep -E 'error|Error' build/build.log; exit 1; }

if [ "${1:-}" = "--once" ]; then
	exec build/agent/pidcast-agent --once --json
fi

build/agent/pidcast-agent "$@" &
agent=$!
stop() {
	kill "$agent" 2>/dev/null || true
	wait "$agent" 2>/dev/null || true
}
trap stop EXIT
sleep 0.5
if ! kill -0 "$agent" 2>/dev/null; then
	wait "$agent" || true
	echo "run.sh: the agent did not start (see its message above)" >&2
	exit 1
fi
# pidcast-sub ends on Ctrl-C; the trap then stops the agent.
build/clients/sub/pidcast-sub || true
