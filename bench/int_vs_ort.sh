#!/usr/bin/env bash
# The integer engine on the zoo models, side by side with ONNX Runtime running our exports.
#
# Per model (W8A8 plan from `quantscope-cli quantize`, per-channel int8 weights, int8 activations, minmax,
# 256 calibration images, preprocessing mean/std 0.5):
#   - simulation vs integer engine on the 10,000 test images: share of equal output elements, largest
#     difference in LSBs, share of equal top-1 (qs_int_tool compare);
#   - our integer engine vs ONNX Runtime on our QDQ and QOperator exports: top-1 agreement on the test set
#     (and each one's accuracy); also QDQ with the same weights stored as uint8 (export --uint8-weights: ORT
#     multiplies u8 x u8 exactly, while its x86 u8 x s8 kernels without AVX-VNNI saturate pairs of 8-bit
#     products, see core/export/export.h), QDQ with 7-bit weights (ORT's reduce_range), and the default QDQ
#     export again in ORT's precise integer mode (session.x64quantprecision = 1, bench/ort_precise.mjs);
#   - speed, ours / ORT-on-our-QDQ-export, batch 1 and 64, 1 and 2 threads: ROUNDS alternating rounds, each
#     the median of RUNS runs on the same input; the ratio of the medians of rounds (one run, one machine),
#     and the ratio of each side's fastest run over all rounds;
#   - our int8 / our float at batch 64, the same way, and as the median ratio of alternating single runs
#     (qs_int_tool pair), the estimate this machine's changes of speed disturb least.
# Writes bench/results/int_vs_ort.json. Machines here are shared: `uptime` is recorded before and after.
#
# Usage: bench/int_vs_ort.sh [MODEL_NAME ...]   (default: mnist_lenet fashion_resnet fashion_mbv2)
# Needs the Release build with benchmarks (BUILD, default build/), node and onnxruntime-node (installed
# into $BUILD/ort on first use, as bench/run_peer_bench.sh does; skipped with a message when impossible).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${BUILD:-$root/build}"
zoo="${ZOO:-$root/../shared/zoo}"
peers="${PEERS:-$root/../shared/peers}"
rounds="${ROUNDS:-5}"
runs="${RUNS:-20}"
cli="$build/app/quantscope-cli"
tool="$build/bench/qs_int_tool"

[ -x "$cli" ] && [ -x "$tool" ] || { echo "build first: cmake --build $build --target quantscope-cli qs_int_tool" >&2; exit 1; }
[ -f "$peers/ort-run.mjs" ] || { echo "no ONNX Runtime peer at $peers: skipping"; exit 0; }
export ORT_PREFIX="${ORT_PREFIX:-$build/ort}"
if [ ! -d "$ORT_PREFIX/node_modules/onnxruntime-node" ]; then
  echo "installing onnxruntime-node into $ORT_PREFIX" >&2
  npm install --silent --prefix "$ORT_PREFIX" --ignore-scripts onnxruntime-node@1.30.0 >&2 ||
    { echo "onnxruntime-node could not be installed: skipping"; exit 0; }
fi

models=("$@")
[ ${#models[@]} -gt 0 ] || models=(mnist_lenet fashion_resnet fashion_mbv2)
work="${WORK:-$(mktemp -d)}"
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$here/results"

/usr/bin/python3 - "$cli" "$tool" "$peers/ort-run.mjs" "$zoo" "$work" "$rounds" "$runs" "$here/results/int_vs_ort.json" "$here/ort_precise.mjs" "${models[@]}" <<'PY'
import json, os, statistics, subprocess, sys
cli, tool, ort, zoo, work, rounds, runs, out, precise = sys.argv[1:10]
models = sys.argv[10:]
rounds, runs = int(rounds), int(runs)
base = json.load(open(os.path.join(zoo, "baselines.json")))

def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout

def js(cmd):
    return json.loads(sh(cmd).strip().splitlines()[-1])

def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()

result = {"uptime_before": uptime(), "rounds": rounds, "runs": runs, "models": {}}
print("load:", result["uptime_before"], flush=True)
for name in models:
    ds = base[name]["dataset"]
    model = os.path.join(zoo, base[name]["onnx"])
    data = os.path.join(zoo, "data", ds)
    w = lambda f: os.path.join(work, f)
    plan = w(name + ".plan.json")
    sh([cli, "quantize", model, "--data", os.path.join(data, "calib-images-idx3-ubyte.gz"), "--mean", "0.5",
        "--std", "0.5", "--out", plan])
    for fmt in ("qdq", "qop"):
        sh([cli, "export", model, "--plan", plan, "--format", fmt, "--out", w("%s.%s.onnx" % (name, fmt))])
    sh([cli, "export", model, "--plan", plan, "--format", "qdq", "--uint8-weights", "--out", w(name + ".u8w.qdq.onnx")])
    test, labels = w(ds + ".test.npy"), w(ds + ".labels.npy")
    if not os.path.exists(test):
        sh([tool, "npy", os.path.join(data, "t10k-images-idx3-ubyte.gz"), test, "--labels",
            os.path.join(data, "t10k-labels-idx1-ubyte.gz"), labels, "--mean", "0.5", "--std", "0.5"])
    r = {}
    r["sim_vs_int"] = js([tool, "compare", model, plan, test, "--out", w(name + ".int.npy")])
    for fmt in ("qdq", "qop", "u8w.qdq"):
        js(["node", ort, w("%s.%s.onnx" % (name, fmt)), test, "--threads", "2", "--runs", "1", "--warmup", "0",
            "--out", w("%s.ort_%s.npy" % (name, fmt))])
        key = "int_vs_ort_" + ("qdq_u8w" if fmt == "u8w.qdq" else fmt)
        r[key] = js([tool, "agree", w(name + ".int.npy"), w("%s.ort_%s.npy" % (name, fmt)), "--labels", labels])
    js(["node", precise, ort, w(name + ".qdq.onnx"), test, "--threads", "2", "--runs", "1", "--warmup", "0",
        "--out", w(name + ".ort_qdq_precise.npy")])
    r["int_vs_ort_qdq_precise"] = js([tool, "agree", w(name + ".int.npy"), w(name + ".ort_qdq_precise.npy"),
                                      "--labels", labels])
    # ORT on x86 without AVX-VNNI runs QDQ models in u8 x s8 with saturating 16-bit pair sums (VPMADDUBSW);
    # 7-bit weights (its reduce_range) cannot saturate, so this row separates its rounding from ours.
    plan7 = w(name + ".w7.plan.json")
    sh([cli, "quantize", model, "--data", os.path.join(data, "calib-images-idx3-ubyte.gz"), "--mean", "0.5",
        "--std", "0.5", "--weight-bits", "7", "--out", plan7])
    sh([cli, "export", model, "--plan", plan7, "--format", "qdq", "--out", w(name + ".w7.qdq.onnx")])
    js([tool, "compare", model, plan7, test, "--out", w(name + ".w7.int.npy")])
    js(["node", ort, w(name + ".w7.qdq.onnx"), test, "--threads", "2", "--runs", "1", "--warmup", "0",
        "--out", w(name + ".w7.ort_qdq.npy")])
    r["int_vs_ort_qdq_w7"] = js([tool, "agree", w(name + ".w7.int.npy"), w(name + ".w7.ort_qdq.npy"), "--labels", labels])
    print("%-16s sim=int: %.6f of elements equal (max %.2f LSB), top-1 equal %.4f; int vs ORT top-1: qdq %.4f, qop %.4f, "
          "qdq with uint8-stored weights %.4f, qdq with 7-bit weights %.4f, qdq in ORT's precise mode %.4f; "
          "top-1 int %.4f, ORT qdq %.4f" % (name,
          r["sim_vs_int"]["equal_share"], r["sim_vs_int"]["max_lsb_diff"],
          r["sim_vs_int"]["top1_equal_share"], r["int_vs_ort_qdq"]["top1_agreement"], r["int_vs_ort_qop"]["top1_agreement"],
          r["int_vs_ort_qdq_u8w"]["top1_agreement"], r["int_vs_ort_qdq_w7"]["top1_agreement"],
          r["int_vs_ort_qdq_precise"]["top1_agreement"],
          r["int_vs_ort_qdq"]["top1_a"], r["int_vs_ort_qdq"]["top1_b"]), flush=True)
    speed = []
    for batch in (1, 64):
        x = w("%s.b%d.npy" % (ds, batch))
        sh([tool, "npy", os.path.join(data, "t10k-images-idx3-ubyte.gz"), x, "--mean", "0.5", "--std", "0.5",
            "--limit", str(batch)])
        for threads in (1, 2):
            rr = runs if batch == 1 else max(5, runs // 4)
            ours, peer, flt = [], [], []
            for _ in range(rounds):
                ours.append(js([tool, "time", model, x, "--plan", plan, "--threads", str(threads), "--runs", str(rr)]))
                peer.append(js(["node", ort, w(name + ".qdq.onnx"), x, "--threads", str(threads), "--runs", str(rr)]))
                if batch == 64:
                    flt.append(js([tool, "time", model, x, "--engine", "float", "--threads", str(threads), "--runs", str(rr)]))
            # Two estimates: the median of the rounds' medians, and the fastest run of all rounds. This machine
            # has slow phases lasting seconds (a run of one engine can fall in one and the other's not), which
            # the medians absorb only partly; the minimum is each engine's speed when nothing else runs.
            med = lambda v: statistics.median(j["ms_median"] for j in v)
            low = lambda v: min(j["ms_min"] for j in v)
            o, p = med(ours), med(peer)
            row = {"batch": batch, "threads": threads, "int_ms": o, "ort_qdq_ms": p, "int_over_ort": o / p,
                   "int_min_ms": low(ours), "ort_qdq_min_ms": low(peer), "int_over_ort_min": low(ours) / low(peer)}
            if flt:
                f = med(flt)
                # And int against float in alternating single runs (qs_int_tool pair): both sides of each pair
                # fall in the same phase of the machine, so the median of the pairs' ratios moves least.
                pr = js([tool, "pair", model, x, "--plan", plan, "--threads", str(threads), "--runs",
                         str(rounds * rr)])
                row.update({"float_ms": f, "float_over_int": f / o, "float_min_ms": low(flt),
                            "float_over_int_min": low(flt) / low(ours),
                            "float_over_int_paired": pr["median_pair_ratio"]})
            speed.append(row)
            print("  batch %2d threads %d: int %.3f ms, ORT(QDQ) %.3f ms, int/ORT %.2f (fastest runs %.2f)%s" % (
                  batch, threads, o, p, o / p, row["int_over_ort_min"],
                  (", float %.3f ms, float/int %.2f (fastest runs %.2f, alternating runs %.2f)" % (
                   row["float_ms"], row["float_over_int"], row["float_over_int_min"],
                   row["float_over_int_paired"])) if flt else ""), flush=True)
    r["speed"] = speed
    result["models"][name] = r
result["uptime_after"] = uptime()
print("load:", result["uptime_after"])
with open(out, "w") as f:
    json.dump(result, f, indent=1)
print("written to", out)
PY
