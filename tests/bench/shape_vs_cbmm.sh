#!/usr/bin/env bash
# The calibration-shapes issue's speed row: on the paper's DGP at MODELS x ITEMS (default 12 x
# 40,000, seed 1), `assay fit` with its defaults against the authors' cBMM at tol 1e-6, on the same
# wide CSV, one after the other in one run. Prints each one's fit time (not the CSV load) and the
# ratio. Needs python3-numpy and python3-scipy (Debian) for cBMM.
#
#   tests/bench/shape_vs_cbmm.sh [MODELS ITEMS SEED]     (from the repository root, after a build)
set -euo pipefail
cd "$(dirname "$0")/../.."
models=${1:-12}
items=${2:-40000}
seed=${3:-1}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
build/tests/bench/irt_shape_bench --models "$models" --items "$items" --seeds "$seed" \
  --methods auto --no-split-half --max-iter 1 --write-csv "$dir" > /dev/null
csv=$dir/sim_${models}x${items}_s${seed}.csv
build/client/assay fit "$csv" --out "$dir/fit" | grep -E "estimator|converged"
assay_s=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['seconds'])" \
  "$dir/fit/fit.json")
cbmm=$(cd ../shared/bench/cbmm && /usr/bin/python3 run_cbmm.py cBMM.py "$csv" 1e-6 | tail -1)
echo "$cbmm"
cbmm_s=$(sed -E 's/.*cbmm_seconds=([0-9.]+).*/\1/' <<< "$cbmm")
python3 -c "import sys; a, c = float(sys.argv[1]), float(sys.argv[2]); \
print(f'assay fit {a:.3f} s, cBMM {c:.1f} s: {c / a:.0f}x faster')" "$assay_s" "$cbmm_s"
