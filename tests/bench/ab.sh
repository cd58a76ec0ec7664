#!/bin/bash
# A/B of assayd binaries under one of the gRPC benches, interleaved.
#
#   tests/bench/ab.sh [-r ROUNDS] [-c COLUMNS] BENCH [BENCH_ARGS...] -- ASSAYD...
#
# Runs `BENCH BENCH_ARGS --assayd A` for every binary A in turn, ROUNDS times (default 3; the
# order reversed every other round), so that the VM's drift over minutes hits every binary alike
# (on the 2-vCPU development VM, one binary's p99 moves by 2x between invocations minutes apart;
# back-to-back blocks of one binary are not comparable). One configuration per invocation: give
# the bench one client count, one think time.
#
# Prints, per run, the bench's last result line, then the server process's CPU seconds (all
# threads) and its committer thread's ("assay-commit"), read from /proc when the bench stops the
# server. At the end, per binary, the median [min, max] of the result columns listed in COLUMNS
# (1-based, comma-separated, whitespace and '/' separate columns; default: none).
# ingest_bench: 7 = labels/s, 8 = p50, 9 = p99 (ms). cat_session_bench: 3 = steps/s, 11 = step p99.
#
# Example (ingest, 32 clients, batches of 3, one message in flight):
#   tests/bench/ab.sh -r 5 -c 7,9 build/tests/bench/ingest_bench --clients 32 --labels 3000 \
#       --batch 3 --window 1 -- /tmp/assayd_before build/server/assayd
if [[ -n "${AB_WRAP_BIN:-}" ]]; then
  # Wrapper mode: the bench starts this script as its assayd. Run the real one; when the bench
  # stops it (SIGTERM), record the process's CPU first.
  "$AB_WRAP_BIN" "$@" &
  pid=$!
  # shellcheck disable=SC2317  # called from the trap
  record_cpu() {
    local all=0 commit=0 name fields
    for task in /proc/"$pid"/task/*; do
      name=$(cat "$task/comm") || continue
      read -r -a fields < <(sed 's/.*) //' "$task/stat") || continue
      all=$((all + fields[11] + fields[12]))
      [[ "$name" == assay-commit ]] && commit=$((commit + fields[11] + fields[12]))
    done
    local tck
    tck=$(getconf CLK_TCK)
    awk -v a="$all" -v c="$commit" -v t="$tck" \
      'BEGIN { printf "server_cpu_s=%.2f commit_cpu_s=%.2f\n", a / t, c / t }' > "$AB_WRAP_LOG"
  }
  trap 'record_cpu; kill -TERM "$pid"; wait "$pid"; exit $?' TERM INT
  wait "$pid"
  exit $?
fi
set -euo pipefail

# Prints the comment block at the top of this file (the usage) and exits 2.
usage() {
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { print }' "$0" >&2
  exit 2
}

rounds=3
columns=""
while getopts "r:c:" opt; do
  case "$opt" in
    r) rounds=$OPTARG ;;
    c) columns=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
bench=()
while [[ $# -gt 0 && "$1" != "--" ]]; do bench+=("$1"); shift; done
if [[ $# -lt 2 || ${#bench[@]} -eq 0 ]]; then usage; fi
shift
binaries=("$@")
for b in "${binaries[@]}"; do
  [[ -x "$b" ]] || { echo "ab.sh: not an executable: $b" >&2; exit 2; }
done

self=$(readlink -f "$0")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for r in $(seq "$rounds"); do
  order=("${!binaries[@]}")  # A B ... in odd rounds, ... B A in even ones: no binary always first
  if ((r % 2 == 0)); then
    order=()
    for ((k = ${#binaries[@]} - 1; k >= 0; --k)); do order+=("$k"); done
  fi
  for i in "${order[@]}"; do
    b=$(readlink -f "${binaries[$i]}")
    if ! out=$(AB_WRAP_BIN="$b" AB_WRAP_LOG="$work/cpu" "${bench[@]}" --assayd "$self" 2>&1); then
      echo "ab.sh: the bench failed with ${binaries[$i]}:" >&2
      echo "$out" | tail -5 >&2
      exit 1
    fi
    line=$(echo "$out" | grep -v '^#' | grep -v '^[[:space:]]*$' | tail -1)
    echo "$line" >> "$work/results.$i"
    cpu=$(cat "$work/cpu" 2>/dev/null || true)
    printf 'round %d  %s\n    %s  %s\n' "$r" "${binaries[$i]}" "$line" "$cpu"
  done
done

[[ -z "$columns" ]] && exit 0
echo
for i in "${!binaries[@]}"; do
  for c in ${columns//,/ }; do
    tr '/' ' ' < "$work/results.$i" | awk -v c="$c" '{ print $c }' | sort -g |
      awk -v c="$c" -v name="${binaries[$i]}" '{ v[NR] = $1 } END {
         m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
         printf "%s  column %d: median %g [%g, %g] over %d runs\n", name, c, m, v[1], v[NR], NR }'
  done
done
