#!/usr/bin/env bash
# Fails, listing the files, when a tracked C file differs from .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.c' '*.h')
bad=()
for f in "${files[@]}"; do
	[ -f "$f" ] || continue
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		bad+=("$f")
	fi
done
if [ ${#bad[@]} -gt 0 ]; then
	echo "format: ${#bad[@]} file(s) differ from .clang-format (fix: clang-format -i FILE):"
	printf '  %s\n' "${bad[@]}"
	exit 1
fi
echo "format: ${#files[@]} C files match .clang-format"
