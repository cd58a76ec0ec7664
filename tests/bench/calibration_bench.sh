#!/usr/bin/env bash
# Issue "Calibration fast in every regime": every figure of its table in one run. For MATH-500
# and simulated matrices of the paper's DGP (written as wide CSVs), `assay fit` with its defaults:
# fit seconds, iterations and sweeps (from fit.json), the whole command's wall time and peak RSS,
# the CSV parse rate (csv_bench), and the authors' cBMM at tol 1e-6 on the same file with the
# ratio of the fit times (when python3-numpy and python3-scipy are installed). The full run adds
# the upload + fit job through assayd against the offline command (upload_fit_bench.sh).
#
#   tests/bench/calibration_bench.sh [--small] [BUILD_DIR]      (from anywhere; BUILD_DIR: build)
#
# --small (run by ctest as calibration_bench_small) uses small matrices so that it takes seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
small=0
build=$root/build
for arg in "$@"; do
  case $arg in
    --small) small=1 ;;
    *) build=$(cd "$arg" && pwd) ;;
  esac
done
shared=$root/../shared
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# Wall seconds and peak RSS (MiB) of a command, its output discarded.
measure() {
  python3 - "$@" <<'EOF'
import resource, subprocess, sys, time
start = time.time()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
wall = time.time() - start
print(f"{wall:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}")
EOF
}

py=/usr/bin/python3  # Debian's, where python3-numpy and python3-scipy install
[ -x "$py" ] || py=python3
have_cbmm=0
if [ -f "$shared/bench/cbmm/cBMM.py" ] && "$py" -c "import numpy, scipy" 2>/dev/null; then
  have_cbmm=1
fi

printf '%-22s %8s %6s %6s %8s %6s %8s %8s %8s %6s %7s\n' matrix fit_s iters sweeps wall_s \
  wall/fit peak_MiB csv_MB/s cbmm_s c_iter ratio
row() {
  local name=$1 csv=$2
  read -r wall rss < <(measure "$build/client/assay" fit "$csv" --out "$dir/fit")
  read -r fit_s iters sweeps < <(python3 -c "import json, sys; f = json.load(open(sys.argv[1])); \
print(f['seconds'], f['iteration'], f['diagnostics']['sweeps'])" "$dir/fit/fit.json")
  local rate
  rate=$("$build/tests/bench/csv_bench" "$csv" --reps 3 | sed -E 's/.* ([0-9]+) MB\/s.*/\1/')
  local cbmm_s=- cbmm_iters=- ratio=-
  if [ "$have_cbmm" = 1 ]; then
    local out
    out=$(cd "$shared/bench/cbmm" && "$py" run_cbmm.py cBMM.py "$csv" 1e-6 | tail -1)
    cbmm_s=$(sed -E 's/.*cbmm_seconds=([0-9.]+).*/\1/' <<< "$out")
    cbmm_iters=$(sed -E 's/.*cbmm_iters=([0-9]+).*/\1/' <<< "$out")
    ratio=$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.1f}x')" \
      "$cbmm_s" "$fit_s")
  fi
  python3 -c "import sys; a = sys.argv; print(f'{a[1]:<22} {float(a[2]):8.3f} {a[3]:>6} {a[4]:>6} \
{float(a[5]):8.2f} {float(a[5]) / float(a[2]):6.2f} {a[6]:>8} {a[7]:>8} {a[8]:>8} {a[9]:>6} \
{a[10]:>7}')" "$name" "$fit_s" "$iters" "$sweeps" "$wall" "$rss" "$rate" "$cbmm_s" "$cbmm_iters" \
    "$ratio"
}

row "MATH-500 140x500" "$shared/data/math500.csv"
if [ "$small" = 1 ]; then
  sizes="200x500 100x2000"
else
  sizes="500x12032 2211x12032 2211x541 4000x28659"
fi
for size in $sizes; do
  models=${size%x*}
  items=${size#*x}
  "$build/tests/bench/irt_shape_bench" --models "$models" --items "$items" --seeds 1 \
    --methods auto --no-split-half --max-iter 1 --write-csv "$dir" > /dev/null
  row "paper DGP $size" "$dir/sim_${models}x${items}_s1.csv"
  [ "$size" = 2211x12032 ] || rm -f "$dir/sim_${models}x${items}_s1.csv"
done
if [ "$have_cbmm" = 0 ]; then
  echo "cBMM: not run (needs $shared/bench/cbmm and python3-numpy, python3-scipy)"
fi
if [ "$small" = 0 ]; then
  echo
  echo "upload + fit job through assayd against offline assay fit, 2,211 x 12,032 (upload_fit_bench.sh):"
  "$root/tests/bench/upload_fit_bench.sh" "$dir/sim_2211x12032_s1.csv" "$build" 3
fi
