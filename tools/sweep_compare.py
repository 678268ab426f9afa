#!/usr/bin/python3
"""Compares two output arrays for tools/sweep_check.sh and prints one short cell of the sweep table.

Usage: sweep_compare.py A.npy B.npy [PLAN.json OUTPUT_NAME]
With a plan whose entry quantizes OUTPUT_NAME, the largest difference is given in that tensor's LSBs
(its scale); otherwise as an absolute value. For [N, classes] outputs the top-1 agreement follows.
"""
import json
import sys

import numpy as np

a, b = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64)
if a.shape != b.shape:
    print(f"SHAPE {a.shape}!={b.shape}")
    sys.exit(1)
d = np.abs(a - b)
scale = None
if len(sys.argv) > 4:
    for e in json.load(open(sys.argv[3]))["entries"]:
        if e["tensor"] == sys.argv[4] and e.get("quantize", True) and e.get("kind") == "activation":
            scale = e["scale"][0]
cell = f"{d.max() / scale:.0f}LSB" if scale else f"{d.max():.2g}"
if not np.isfinite(d).all():
    cell = "NaN"
if a.ndim == 2 and a.shape[1] > 1:
    flips = a.argmax(1) != b.argmax(1)
    cell += f" top1 {np.mean(~flips) * 100:.1f}%"
    if scale and flips.any():
        # A flip where B's two best scores are within a step or two of each other is a near-tie decided by
        # one rounding; a flip at a wide gap is a real disagreement.
        top2 = np.sort(b[flips], 1)[:, -2:]
        cell += f" [flips at gaps <={(top2[:, 1] - top2[:, 0]).max() / scale:.0f}LSB]"
    # Mean LSB error too: a single 1-LSB outlier and a systematic shift read differently.
if scale:
    cell += f" (>1LSB {np.mean(d > scale * 1.0001) * 100:.1f}%)"
print(cell)
