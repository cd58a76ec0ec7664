#!/usr/bin/env bash
# clang-tidy (the repository's .clang-tidy) on the lines the change adds or modifies in C++ files,
# through Debian's clang-tidy-diff: any finding there, or any error clang reports compiling a
# touched file, fails. The change is what came since BASE (default: the commit before HEAD, so CI
# checks the commit it runs on). Findings on lines the change does not touch are not reported.
#
#   tests/check_tidy.sh BUILD_DIR [BASE]
#
# Uses BUILD_DIR/compile_commands.json, with the GCC-only flags clang does not know removed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: tests/check_tidy.sh BUILD_DIR [BASE]}
base=${2:-HEAD~1}
if ! git rev-parse -q --verify "$base^{commit}" > /dev/null; then
  echo "check_tidy: no commit '$base' to compare with; nothing to check"
  exit 0
fi
db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
sed 's/ -fvect-cost-model=dynamic//g' "$build/compile_commands.json" > "$db/compile_commands.json"
git diff -U0 "$base" HEAD -- 'core/*' 'server/*' 'client/*' 'proto/*' 'tests/*' |
  clang-tidy-diff -p1 -path "$db" -quiet -j "${ASSAY_JOBS:-2}" -iregex '.*\.(cc|h)' \
    > "$db/findings.txt" 2>&1 || true
# Findings that name a file of this repository (clang-tidy-diff filters them to changed lines).
if grep -E "^$PWD/[^:]+:[0-9]+:[0-9]+: (warning|error):" "$db/findings.txt" > "$db/ours.txt"; then
  echo "check_tidy: clang-tidy findings on lines changed since $base:"
  grep -A3 -F -f <(cut -d: -f1-3 "$db/ours.txt") "$db/findings.txt" || cat "$db/ours.txt"
  exit 1
fi
echo "check_tidy: ok (lines changed since $base)"
