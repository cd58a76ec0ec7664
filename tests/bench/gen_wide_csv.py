#!/usr/bin/env python3
"""Writes a wide 1/0 response CSV from the paper's DGP, streaming, for matrices too large to
build in memory first (the 20,000 x 50,000 row of the calibration-speed benchmark: 10^9 cells,
2 GB of text).

    tests/bench/gen_wide_csv.py MODELS ITEMS OUT.csv [--seed N] [--missing F]

theta ~ N(0, 1), a ~ U(0.5, 1), b ~ N(0, 0.5^2), P(correct) = logistic(theta a + b); with
--missing F each cell is left empty with probability F. Needs numpy (Debian: python3-numpy).
"""
import argparse
import sys

import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", type=int)
    parser.add_argument("items", type=int)
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--missing", type=float, default=0.0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    theta = rng.standard_normal(args.models)
    a = rng.uniform(0.5, 1.0, args.items)
    b = rng.normal(0.0, 0.5, args.items)
    chunk = max(1, 20_000_000 // args.items)  # rows per write: about 20 M cells
    with open(args.out, "wb") as out:
        out.write(("model," + ",".join(f"i{j}" for j in range(args.items)) + "\n").encode())
        for first in range(0, args.models, chunk):
            rows = np.arange(first, min(args.models, first + chunk))
            p = 1.0 / (1.0 + np.exp(-(np.outer(theta[rows], a) + b)))
            cells = np.where(rng.random(p.shape) < p, ord("1"), ord("0")).astype(np.uint8)
            if args.missing > 0:
                cells[rng.random(p.shape) < args.missing] = 0  # removed below
            for r, i in enumerate(rows):
                line = np.empty(2 * args.items, dtype=np.uint8)
                line[0::2] = ord(",")
                line[1::2] = cells[r]
                text = line.tobytes()
                if args.missing > 0:
                    text = text.replace(b"\x00", b"")
                out.write(f"m{i}".encode() + text + b"\n")
    print(f"wrote {args.out}: {args.models} x {args.items}", file=sys.stderr)


if __name__ == "__main__":
    main()
