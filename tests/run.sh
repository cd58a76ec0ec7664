#!/usr/bin/env bash
# The test command (README, and exactly what .ci/run runs): installs what is missing, builds,
# runs the whole suite, then builds again with AddressSanitizer + UndefinedBehaviorSanitizer and
# runs the whole suite under them. Build trees: build/ and build-asan/ (reused between runs).
# From a fresh clone on the 2-core CI machine (2026-12-06, 11:00 UTC): release build 394 s, clang's
# thread-safety analysis 46 s, release tests 61 s, sanitized build 587 s, its tests 362 s; about 24
# minutes in all. On 2026-12-07 (15:00 UTC, a larger tree on a busier host): release build 816 s,
# thread-safety 88 s, clang-tidy 45 s, release tests 136 s, sanitized build 1,103 s, its tests
# 329 s; 42 minutes. On 2026-12-07 (18:10 UTC): release build 777 s, thread-safety 85 s, release
# tests 124 s, sanitized build 1,052 s, its tests 307 s; 39 minutes. CI's limit is 90 minutes
# (keep it under 40).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
jobs=${ASSAY_JOBS:-2}

bash deploy/install-deps.sh --browser
bash tests/check_layering.sh

step() { echo; echo "== $* ($((SECONDS - start))s)"; }

step "release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build build -j "$jobs"
step "thread-safety analysis (clang)"
bash tests/check_thread_safety.sh build
step "clang-tidy on the lines the last commit changed"
bash tests/check_tidy.sh build
step "release tests"
ctest --test-dir build -j "$jobs" --output-on-failure

step "run command smoke test"
bash deploy/run.sh --once

step "ASan+UBSan build"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DASSAY_SANITIZE=ON \
  -DASSAY_BUILD_BENCHMARKS=OFF > /dev/null
cmake --build build-asan -j "$jobs"
step "ASan+UBSan tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -j "$jobs" --output-on-failure

step "all green"
