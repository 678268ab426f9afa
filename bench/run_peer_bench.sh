#!/usr/bin/env bash
# Float inference speed, QuantScope vs ONNX Runtime (CPU), side by side in one run.
#
# For each model × batch {1, 64} × threads {1, 2}, the two runtimes are timed in alternation (ROUNDS
# rounds, each the median of RUNS runs on the same input) and the ratio ours/ORT of the medians of rounds
# is printed. Machines here are shared and noisy: only ratios measured in one run mean anything.
#
# Usage: bench/run_peer_bench.sh [MODEL.onnx ...]     (default: the models in ../shared/zoo/models)
# Needs: the Release build (make build), node, and onnxruntime-node (installed into build/ort on first
# use with npm; skipped with a message when that is not possible). Writes bench/results/float_vs_ort.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${BUILD:-$root/build}"
peers="${PEERS:-$root/../shared/peers}"
rounds="${ROUNDS:-5}"
runs="${RUNS:-20}"
timer="$build/bench/qs_infer_timer"

[ -x "$timer" ] || { echo "build first: make build" >&2; exit 1; }
[ -f "$peers/ort-run.mjs" ] || { echo "no ONNX Runtime peer at $peers: skipping the comparison"; exit 0; }
export ORT_PREFIX="${ORT_PREFIX:-$build/ort}"
if [ ! -d "$ORT_PREFIX/node_modules/onnxruntime-node" ]; then
  echo "installing onnxruntime-node into $ORT_PREFIX" >&2
  npm install --silent --prefix "$ORT_PREFIX" --ignore-scripts onnxruntime-node@1.30.0 >&2 ||
    { echo "onnxruntime-node could not be installed: skipping the comparison"; exit 0; }
fi

models=("$@")
if [ ${#models[@]} -eq 0 ]; then models=("$root"/../shared/zoo/models/*.onnx); fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$here/results"
out="$here/results/float_vs_ort.json"

/usr/bin/python3 - "$timer" "$peers/ort-run.mjs" "$work" "$rounds" "$runs" "$out" "${models[@]}" <<'PY'
import json, os, statistics, subprocess, sys
timer, ort, work, rounds, runs, out = sys.argv[1:7]
models = sys.argv[7:]
rounds, runs = int(rounds), int(runs)

def npy(path, shape):
    # Deterministic pseudo-random input in [-1, 1] (what normalized images look like), float32 C order.
    import struct
    n = 1
    for d in shape: n *= d
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    x, vals = 12345, []
    for _ in range(n):
        x = (1103515245 * x + 12345) % 2**31
        vals.append(x / 2**30 - 1.0)
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.write(struct.pack("<%df" % n, *vals))

def model_input_shape(model, batch):
    # [batch, C, H, W] from the model's first input (dynamic dims other than batch are not supported here).
    import onnx
    m = onnx.load(model, load_external_data=False)
    init = {i.name for i in m.graph.initializer}
    inp = [i for i in m.graph.input if i.name not in init][0]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
    return [batch] + [d for d in dims[1:]]

def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("failed: %s\n%s" % (" ".join(cmd), r.stderr))
    return json.loads(r.stdout.strip().splitlines()[-1])

def load():
    try:
        with open("/proc/loadavg") as f: return " ".join(f.read().split()[:3])
    except OSError: return "unknown"

load_before = load()
print("load average (1, 5, 15 min) before: %s" % load_before)
rows = []
print("%-22s %5s %7s %11s %11s %8s" % ("model", "batch", "threads", "ours ms", "ORT ms", "ours/ORT"))
for model in models:
    name = os.path.splitext(os.path.basename(model))[0]
    for batch in (1, 64):
        x = os.path.join(work, "%s_b%d.npy" % (name, batch))
        npy(x, model_input_shape(model, batch))
        for threads in (1, 2):
            r = runs if batch == 1 else max(5, runs // 4)
            ours, peer = [], []
            for _ in range(rounds):
                ours.append(run([timer, model, x, "--threads", str(threads), "--runs", str(r)])["ms_median"])
                peer.append(run(["node", ort, model, x, "--threads", str(threads), "--runs", str(r)])["ms_median"])
            o, p = statistics.median(ours), statistics.median(peer)
            rows.append({"model": name, "batch": batch, "threads": threads, "ours_ms": o, "ort_ms": p, "ratio": o / p})
            print("%-22s %5d %7d %11.3f %11.3f %8.2f" % (name, batch, threads, o, p, o / p), flush=True)
load_after = load()
print("load average after: %s" % load_after)
with open(out, "w") as f:
    json.dump({"rounds": rounds, "runs": runs, "load_before": load_before, "load_after": load_after, "rows": rows}, f, indent=1)
print("worst ratio: %.2f  (written to %s)" % (max(r["ratio"] for r in rows), out))
PY
