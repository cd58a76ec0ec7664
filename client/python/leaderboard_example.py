#!/usr/bin/env python3
"""Prints a benchmark's leaderboard, then follows an audit until it is decided.

    PYTHONPATH=build/python:client/python python3 client/python/leaderboard_example.py \
        --server 127.0.0.1:50051 --benchmark bm_... --audit a_... [--top 10]

The token comes from --token or ASSAY_TOKEN.
"""

import argparse
import os
import sys

from assay_client import AssayClient, AssayError


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="127.0.0.1:50051")
    parser.add_argument("--token", default=os.environ.get("ASSAY_TOKEN", ""))
    parser.add_argument("--benchmark", help="benchmark id (default: the newest)")
    parser.add_argument("--audit", help="audit id to watch (default: none)")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()

    with AssayClient(args.server, token=args.token) as client:
        try:
            benchmark_id = args.benchmark or client.benchmarks(limit=1)[0]["id"]
            bm = client.benchmark(benchmark_id)
            print(f"{bm['name']}: {bm['num_models']} models x {bm['num_items']} items, "
                  f"calibration {bm['current_fit_id']}")
            print(f"{'rank':>4}  {'model':<44} {'theta':>7} {'se':>6} {'accuracy':>8}")
            for row in client.leaderboard(benchmark_id, limit=args.top):
                print(f"{row['rank']:>4}  {row['model']:<44} {row['theta'][0]:>7.3f} "
                      f"{row['se'][0]:>6.3f} {row['accuracy']:>8.3f}")
            if args.audit:
                for update in client.watch_audit(args.audit):
                    a = update["audit"]
                    print(f"audit {a['id']} rev {a['revision']}: {a['tested']} tested, "
                          f"e_model {a['e_model']:.3g}, e_auditor {a['e_auditor']:.3g}, "
                          f"accuracy in [{a['accuracy_lower']:.3f}, {a['accuracy_upper']:.3f}], "
                          f"{a['decision']}")
        except AssayError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
