#!/usr/bin/env bash
# Installs what is missing, builds natively into build/, and runs the agent.
# Arguments go to pidcast-agent (default: --once --json, one snapshot).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/deps.sh --native
mkdir -p build
cmake -S . -B build >build/configure.log 2>&1 || { tail -n 30 build/configure.log; exit 1; }
cmake --build build -j "$(nproc)" >build/build.log 2>&1 || { grep -E 'error|Error' build/build.log; exit 1; }
if [ $# -eq 0 ]; then
	set -- --once --json
fi
exec build/agent/pidcast-agent "$@"
