#!/usr/bin/env bash
# Issue "Calibration, plans, simulation": top-1 of each activation range estimator x {W8A8, W4A8, W4A32}
# on the zoo models, simulated (fake-quant), per-channel weights (8-bit: min/max range; 4-bit: the
# per-channel MSE search, WEIGHT_METHODS overrides), 512 calibration images, the 10k test set. Prints a markdown table and writes bench/results/quant_table.json.
# Usage: bench/quant_table.sh [ZOO_DIR] (default ../shared/zoo)
set -euo pipefail
cd "$(dirname "$0")/.."
ZOO=${1:-../shared/zoo}
CLI=${CLI:-build/app/quantscope-cli}
OUT=${OUT:-bench/results/quant_table.json}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
declare -A DATA=([mnist_lenet]=mnist [fashion_resnet]=fashion [fashion_mbv2]=fashion)
echo "[" > "$TMP/rows"
first=1
printf "| model | act method | W8A8 | W4A8 | W4A32 |\n|---|---|---|---|---|\n"
for model in ${MODELS:-mnist_lenet fashion_resnet fashion_mbv2}; do
  d=$ZOO/data/${DATA[$model]}
  common=(--mean 0.5 --std 0.5)
  calib=(--data "$d/calib-images-idx3-ubyte.gz" "${common[@]}")
  test=(--data "$d/t10k-images-idx3-ubyte.gz" --labels "$d/t10k-labels-idx1-ubyte.gz" "${common[@]}")
  float=$($CLI eval "$ZOO/models/$model.onnx" "${test[@]}" --json | sed -E 's/.*"top1":([0-9.]+).*/\1/')
  printf "| %s | float | %s | %s | %s |\n" "$model" "$float" "$float" "$float"
  for am in ${METHODS:-minmax ema percentile mse kl}; do
    {
      row=()
      for cfg in "8 8" "4 8" "4 32"; do
        set -- $cfg
        wm=minmax; [ "$1" -lt 8 ] && wm=mse
        plan=$TMP/$model-$wm-$am-$1-$2.json
        $CLI quantize "$ZOO/models/$model.onnx" "${calib[@]}" --calib-count 512 --weight-bits "$1" --act-bits "$2" \
          --method "$am" --weight-method "$wm" --out "$plan" 2>/dev/null
        top1=$($CLI eval "$ZOO/models/$model.onnx" "${test[@]}" --plan "$plan" --engine sim --json |
               sed -E 's/.*"top1":([0-9.]+).*/\1/')
        row+=("$top1")
        [ $first = 1 ] || echo "," >> "$TMP/rows"; first=0
        printf '{"model":"%s","float_top1":%s,"act_method":"%s","weight_method":"%s","weight_bits":%s,"act_bits":%s,"top1":%s}' \
          "$model" "$float" "$am" "$wm" "$1" "$2" "$top1" >> "$TMP/rows"
      done
      printf "| %s | %s | %s | %s | %s |\n" "$model" "$am" "${row[@]}"
    }
  done
done
echo "]" >> "$TMP/rows"
mkdir -p bench/results && cp "$TMP/rows" "$OUT"
