#!/usr/bin/env bash
# Issue "Calibration fast in every regime", its server point: a wide CSV calibrated offline
# (`assay fit FILE`, wall time) against the same file through assayd (`assay upload` into a new
# benchmark, then `assay fits start --wait`), each command timed as a whole, by the CLI a user
# runs. Prints the three wall times, the job's own seconds and iterations, the database size and
# the ratio (upload + job) / offline. assayd runs on a fresh database in a temporary directory.
#
#   tests/bench/upload_fit_bench.sh FILE.csv [BUILD_DIR] [REPS]   (BUILD_DIR: build; REPS: 1)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
csv=$(realpath "$1")
build=$(cd "${2:-$root/build}" && pwd)
reps=${3:-1}
dir=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

# Wall seconds of a command, its output kept in $dir/out.
wall() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > "$dir/out"
  t1=$(date +%s.%N)
  python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$t0" "$t1"
}

key=$("$build/server/assayd" --db "$dir/assay.db" team create bench 2> /dev/null)
"$build/server/assayd" --listen 127.0.0.1:0 --http "" --db "$dir/assay.db" 2> "$dir/log" &
server=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$dir/log" | head -n 1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$dir/log" >&2; exit 1; }
assay=("$build/client/assay" --server "127.0.0.1:$port" --token "$key" --timeout 600)

printf '%-4s %10s %9s %9s %9s %7s %9s %7s\n' rep offline_s upload_s job_s job_fit_s iters db_MB \
  ratio
for rep in $(seq 1 "$reps"); do
  offline=$(wall "$build/client/assay" fit "$csv" --out "$dir/fit")
  bm=$("${assay[@]}" benchmarks create "bench$rep" --json |
    python3 -c "import json, sys; print(json.load(sys.stdin)['id'])")
  upload=$(wall "${assay[@]}" upload "$bm" "$csv")
  job=$(wall "${assay[@]}" fits start "$bm" --wait --json)
  read -r job_fit iters < <(python3 -c "import json, sys; f = json.load(open(sys.argv[1])); \
print(f['seconds'], f['iteration'])" "$dir/out")
  db=$(du -cm "$dir"/assay.db* | tail -1 | cut -f1)
  python3 -c "import sys; a = sys.argv; o, u, j = map(float, a[2:5]); print(f'{a[1]:<4} {o:10.3f} \
{u:9.3f} {j:9.3f} {float(a[5]):9.3f} {a[6]:>7} {a[7]:>9} {(u + j) / o:7.2f}')" \
    "$rep" "$offline" "$upload" "$job" "$job_fit" "$iters" "$db"
done
