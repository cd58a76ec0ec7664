#!/usr/bin/env bash
# Clang's thread-safety analysis over core/ and server/ (the ABSL_GUARDED_BY / *_LOCKS_REQUIRED
# annotations): every translation unit of compile_commands.json compiled with clang++
# -fsyntax-only -Wthread-safety -Werror=thread-safety. GCC ignores the annotations, so without this
# they are comments. Usage: check_thread_safety.sh BUILD_DIR (a configured build tree).
set -euo pipefail
build=${1:-build}
command -v clang++ > /dev/null || { echo "check_thread_safety: clang++ is needed (deploy/install-deps.sh)"; exit 1; }
# First, that the analysis is on at all: a planted unguarded write must fail to compile.
planted=$(mktemp --suffix=.cc)
trap 'rm -f "$planted"' EXIT
cat > "$planted" <<'CC'
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
struct Planted {
  absl::Mutex mu;
  int x ABSL_GUARDED_BY(mu) = 0;
  void Write() { x = 1; }  // no lock held
};
CC
if clang++ -std=c++17 -fsyntax-only -Wthread-safety -Werror=thread-safety "$planted" 2> /dev/null; then
  echo "check_thread_safety: the analysis did not catch a planted violation"; exit 1
fi
python3 - "$build/compile_commands.json" > "$build/thread_safety_commands.txt" <<'PY'
import json, shlex, sys
for c in json.load(open(sys.argv[1])):
    f = c["file"]
    if "/server/" not in f and "/core/" not in f:
        continue
    args = shlex.split(c["command"])
    out, skip = ["clang++"], False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MT"):
            skip = True
            continue
        if a in ("-c", "-MD") or a.startswith(("-march", "-g", "-O", "-W", "-fsanitize", "-fno-sanitize", "-fvect-cost-model")):
            continue
        out.append(a)
    out += ["-fsyntax-only", "-Wthread-safety", "-Werror=thread-safety", "-Wno-unknown-warning-option",
            "-Wno-unused-command-line-argument"]
    print("cd " + shlex.quote(c["directory"]) + " && " + " ".join(shlex.quote(x) for x in out))
PY
n=$(wc -l < "$build/thread_safety_commands.txt")
if ! xargs -P "${ASSAY_JOBS:-2}" -I{} -d '\n' bash -c '{}' < "$build/thread_safety_commands.txt" \
     > "$build/thread_safety.log" 2>&1; then
  grep -E "error|warning" "$build/thread_safety.log" | head -40
  echo "check_thread_safety: clang's thread-safety analysis failed (full log: $build/thread_safety.log)"
  exit 1
fi
echo "check_thread_safety: ok ($n translation units)"
