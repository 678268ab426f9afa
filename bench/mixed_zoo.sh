#!/usr/bin/env bash
# Issue "LFH, EPTQ and mixed precision": mixed-precision plans (ILP) at the weight size of uniform 3-bit
# and 4-bit weights vs the uniform plans, A8, per-channel weights, on the zoo models. Top-1 is measured with
# the fake-quant simulation on the 10k test images; calibration and sensitivity use the calibration images.
# Also reports the sensitivity-table time (and its float passes) and the ILP solve time.
# Prints a markdown table and writes bench/results/mixed_zoo.json.
# Usage: bench/mixed_zoo.sh [ZOO_DIR] (default ../shared/zoo). Environment: CLI (the quantscope-cli
# binary), WEIGHT_METHOD (minmax|mse, default minmax), WEIGHTING (lfh|output, default lfh),
# SAMPLES (sensitivity samples, default 256), BITS (candidate widths, default 2,3,4,5,6,8), MODELS (default all
# three), THREADS (default 0 = all cores).
set -euo pipefail
cd "$(dirname "$0")/.."
ZOO=${1:-../shared/zoo}
CLI=${CLI:-build/app/quantscope-cli}
WM=${WEIGHT_METHOD:-minmax}
WEIGHTING=${WEIGHTING:-lfh}
DISTORTION=${DISTORTION:-nmse}
SAMPLES=${SAMPLES:-256}
BITS=${BITS:-2,3,4,5,6,8}
MODELS=${MODELS:-mnist_lenet fashion_resnet fashion_mbv2}
THREADS=${THREADS:-0}
OUT=${OUT:-bench/results/mixed_zoo.json}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
declare -A DATA=([mnist_lenet]=mnist [fashion_resnet]=fashion [fashion_mbv2]=fashion)
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
echo "[" > "$TMP/rows"
first=1
printf "weight method %s, weighting %s, %s sensitivity samples, candidate widths %s\n\n" "$WM" "$WEIGHTING" "$SAMPLES" "$BITS"
printf "| model | size | uniform top-1 | ILP top-1 | uniform bytes | ILP bytes | ILP widths | sensitivity s (float s) | solve s |\n"
printf "|---|---|---|---|---|---|---|---|---|\n"
for model in $MODELS; do
  d=$ZOO/data/${DATA[$model]}
  common=(--mean 0.5 --std 0.5 --threads "$THREADS")
  calib=(--data "$d/calib-images-idx3-ubyte.gz" "${common[@]}")
  test=(--data "$d/t10k-images-idx3-ubyte.gz" --labels "$d/t10k-labels-idx1-ubyte.gz" "${common[@]}")
  for wb in 3 4; do
    uni=$TMP/$model-u$wb.json
    mix=$TMP/$model-m$wb.json
    $CLI quantize "$ZOO/models/$model.onnx" "${calib[@]}" --calib-count 512 --weight-bits "$wb" --act-bits 8 \
      --per-channel --weight-method "$WM" --out "$uni" 2>/dev/null
    $CLI mixed "$ZOO/models/$model.onnx" "${calib[@]}" --calib-count 512 --budget-bits "$wb" --bits "$BITS" \
      --act-bits 8 --per-channel --weight-method "$WM" --samples "$SAMPLES" --weighting "$WEIGHTING" \
      --distortion "$DISTORTION" --out "$mix" --report "$TMP/rep.json" --sensitivity-out "$TMP/sens.json" > "$TMP/mixed.txt" 2> "$TMP/mixed.err"
    ut=$($CLI eval "$ZOO/models/$model.onnx" "${test[@]}" --plan "$uni" --engine sim --json | json /dev/stdin "d['top1']")
    mt=$($CLI eval "$ZOO/models/$model.onnx" "${test[@]}" --plan "$mix" --engine sim --json | json /dev/stdin "d['top1']")
    ubytes=$(json "$TMP/rep.json" "d['budget']['weight_bytes']")
    mbytes=$(json "$TMP/rep.json" "d['costs']['weight_bytes']")
    widths=$(json "$TMP/rep.json" "'/'.join(str(a['bits']) for a in d['allocation'] if a['kind']=='weight')")
    solve=$(json "$TMP/rep.json" "round(d['solve_seconds'],4)")
    sens=$(json "$TMP/sens.json" "round(d['seconds'],2)")
    sensf=$(json "$TMP/sens.json" "round(d['float_seconds'],3)")
    printf "| %s | W%sA8 size | %s | %s | %s | %s | %s | %s (%s) | %s |\n" "$model" "$wb" "$ut" "$mt" "$ubytes" "$mbytes" \
      "$widths" "$sens" "$sensf" "$solve"
    [ $first = 1 ] || echo "," >> "$TMP/rows"; first=0
    printf '{"model":"%s","size_of_bits":%s,"weight_method":"%s","weighting":"%s","samples":%s,"bits":"%s","uniform_top1":%s,"ilp_top1":%s,"budget_bytes":%s,"ilp_bytes":%s,"ilp_widths":"%s","sensitivity_seconds":%s,"sensitivity_float_seconds":%s,"solve_seconds":%s}' \
      "$model" "$wb" "$WM" "$WEIGHTING" "$SAMPLES" "$BITS" "$ut" "$mt" "$ubytes" "$mbytes" "$widths" "$sens" "$sensf" "$solve" >> "$TMP/rows"
  done
done
echo "]" >> "$TMP/rows"
mkdir -p "$(dirname "$OUT")" && cp "$TMP/rows" "$OUT"
