#!/usr/bin/env bash
# Fails when a file in core/ includes a header from a layer above its own.
# The order is core/CMakeLists.txt's: each folder may use only itself and
# the folders before it, so the tree reads as DESIGN's data flow.
set -euo pipefail
cd "$(dirname "$0")/.."
layers=(base platform record probe table wire net rpc stream service)
rank() {
	local i
	for i in "${!layers[@]}"; do
		[ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }
	done
	echo -1
}
bad=0
while IFS= read -r f; do
	own=$(rank "$(cut -d/ -f2 <<<"$f")")
	if [ "$own" -lt 0 ]; then
		echo "layers: $f is in no layer (add its folder to scripts/check-layers.sh and core/CMakeLists.txt)"
		bad=1
		continue
	fi
	while IFS= read -r dep; do
		r=$(rank "$dep")
		if [ "$r" -lt 0 ] || [ "$r" -gt "$own" ]; then
			echo "layers: $f includes $dep/, a layer above its own"
			bad=1
		fi
	done < <(sed -nE 's|^#include "([a-z]+)/pc_[a-z_]+\.h".*|\1|p' "$f" | sort -u)
done < <(git ls-files --cached --others --exclude-standard -- 'core/*/*.c' 'core/*/*.h')
[ "$bad" -eq 0 ] && echo "layers: core/ includes only downward (${layers[*]})"
exit "$bad"
