#!/usr/bin/env bash
# Issue "Label-free Hessian sensitivity, EPTQ ...": on every zoo model
#   1. LFH vs the labeled cross-entropy Hessian trace (Hutchinson; vᵀHv by Gauss-Newton with Jv from
#      central differences of outputs — exact for these piecewise-linear models — and by central differences
#      of gradients): Spearman rank correlation per model, weights and activations apart; LFH run time vs
#      one forward pass over the same samples;
#   2. EPTQ (LFH layer weights and uniform ones) vs round-to-nearest at W4A8 and W3A8: simulated top-1 on
#      the 10k test images.
# Prints markdown tables and writes bench/results/lfh_zoo.json and bench/results/eptq_zoo.json.
# Usage: bench/lfh_zoo.sh [ZOO_DIR] (default ../shared/zoo); env: BUILD (default build), SAMPLES (32),
# HESSIAN_PROBES (8), THREADS (1), ITERS (EPTQ iterations, 500), CALIB (EPTQ calibration images, 256),
# SKIP_LFH=1, SKIP_EPTQ=1, WBITS (EPTQ weight widths, "4 3"), EPTQ_OUT (default bench/results/eptq_zoo.json).
set -euo pipefail
cd "$(dirname "$0")/.."
ZOO=${1:-../shared/zoo}
BUILD=${BUILD:-build}
CLI=$BUILD/app/quantscope-cli
EPTQ=$BUILD/bench/qs_eptq_zoo
SAMPLES=${SAMPLES:-32}
HESSIAN_PROBES=${HESSIAN_PROBES:-8}
THREADS=${THREADS:-1}
ITERS=${ITERS:-500}
CALIB=${CALIB:-256}
WBITS=${WBITS:-"4 3"}
EPTQ_OUT=${EPTQ_OUT:-bench/results/eptq_zoo.json}
mkdir -p bench/results
declare -A DATA=([mnist_lenet]=mnist [fashion_resnet]=fashion [fashion_mbv2]=fashion)
MODELS=${MODELS:-"mnist_lenet fashion_resnet fashion_mbv2"}

if [ "${SKIP_LFH:-0}" != 1 ]; then
echo "## LFH vs labeled cross-entropy Hessian trace ($SAMPLES samples, Hessian $HESSIAN_PROBES probes per tensor)"
echo "Spearman rank correlation over each model's weight / activation tensors; Hessian by Gauss-Newton (exact"
echo "for these piecewise-linear models) and by differences of gradients; times with $THREADS thread(s)."
printf "| model | tensors w/a | Spearman GN w | GN a | grad-diff w | grad-diff a | LFH s | forward s | LFH/forward |\n|---|---|---|---|---|---|---|---|---|\n"
echo "[" > bench/results/lfh_zoo.json
first=1
for model in $MODELS; do
  d=$ZOO/data/${DATA[$model]}
  args=("$ZOO/models/$model.onnx" --data "$d/calib-images-idx3-ubyte.gz" --labels "$d/calib-labels-idx1-ubyte.gz"
        --mean 0.5 --std 0.5 --samples "$SAMPLES" --threads "$THREADS" --hessian --hessian-probes "$HESSIAN_PROBES" --json)
  gn=$(mktemp); gd=$(mktemp)
  $CLI sensitivity "${args[@]}" --hessian-method gauss-newton > "$gn"
  $CLI sensitivity "${args[@]}" --hessian-method gradient > "$gd"
  [ $first = 1 ] || echo "," >> bench/results/lfh_zoo.json; first=0
  /usr/bin/python3 - "$gn" "$gd" "$model" >> bench/results/lfh_zoo.json <<'PY'
import json, sys
gn, gd = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
gn["hessian_gradient_differences"] = gd["hessian"]
for t, u in zip(gn["tensors"], gd["tensors"]):
    t["hessian_trace_gradient_differences"] = u["hessian_trace"]
json.dump(gn, sys.stdout, indent=1)
w = sum(t["kind"] == "weight" for t in gn["tensors"]); a = len(gn["tensors"]) - w
f = lambda v: "n/a" if v is None else "%.3f" % v
h, g = gn["hessian"], gd["hessian"]
print("| %s | %d/%d | %s | %s | %s | %s | %.2f | %.4f | %.0f |" % (sys.argv[3], w, a, f(h["spearman_weights"]),
      f(h["spearman_activations"]), f(g["spearman_weights"]), f(g["spearman_activations"]), gn["seconds"],
      gn["forward_seconds"], gn["lfh_over_forward"]), file=sys.stderr)
PY
  rm -f "$gn" "$gd"
done 2>&1 >/dev/null | cat
echo "]" >> bench/results/lfh_zoo.json
fi

[ "${SKIP_EPTQ:-0}" = 1 ] && exit 0
echo
echo "## EPTQ vs RTN, simulated top-1 on 10k test images ($ITERS iterations, $CALIB calibration images)"
printf "| model | bits | RTN | EPTQ (LFH) | EPTQ (uniform) | eval loss RTN / LFH / uniform |\n|---|---|---|---|---|---|\n"
echo "[" > "$EPTQ_OUT"
first=1
for model in $MODELS; do
  d=$ZOO/data/${DATA[$model]}
  for wb in $WBITS; do
    row=$(QS_THREADS=$THREADS $EPTQ "$ZOO/models/$model.onnx" "$d/calib-images-idx3-ubyte.gz" "$d/t10k-images-idx3-ubyte.gz" \
      "$d/t10k-labels-idx1-ubyte.gz" "$wb" 8 "$ITERS" "$CALIB" |
      /usr/bin/python3 -c 'import json, sys; j = json.load(sys.stdin); j["model"] = sys.argv[1]; print(json.dumps(j))' "$model")
    [ $first = 1 ] || echo "," >> "$EPTQ_OUT"; first=0
    echo "$row" >> "$EPTQ_OUT"
    /usr/bin/python3 -c '
import json, sys
j = json.loads(sys.argv[1])
print("| %s | W%dA%d | %.4f | %.4f | %.4f | %.3g / %.3g / %.3g |" % (sys.argv[2], j["weight_bits"], j["act_bits"],
      j["rtn_top1"], j["eptq_lfh_top1"], j["eptq_uniform_top1"], j["rtn_lfh_eval_loss"], j["eptq_lfh_eval_loss"],
      j["eptq_uniform_eval_loss"]))' "$row" "$model"
  done
done
echo "]" >> "$EPTQ_OUT"
