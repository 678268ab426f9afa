#!/usr/bin/env bash
# Issue "RepVGG branch diagnostics": trains a small RepVGG (custom L2) and its QARepVGG counterpart on
# Fashion-MNIST with tools/train_repvgg.py (skipped when WORK already holds the models), then per model:
#   - float top-1 of the training-time form and of QuantScope's fused form on the held-out images, and the
#     fusion's max relative error (quantscope-cli repvgg --fuse-out);
#   - INT8 per-tensor PTQ (W8A8, min/max, simulated) top-1 of the fused model, and the drop from float;
#   - the same with only the blocks the diagnostics flag for INT8 kept in float (their fused weights and
#     their activation), and with only the blocks flagged at 4 bits;
#   - W4 per-channel weights (activations float) of the fused model: RTN, GPTQ, OBQ, and RTN with the
#     4-bit-flagged blocks kept at 8 bits.
# Prints a markdown table and writes bench/results/repvgg_zoo.json.
# Usage: bench/repvgg_zoo.sh [ZOO_DIR] (default ../shared/zoo); env: CLI, WORK (default build/repvgg),
# EPOCHS (6), CALIB (calibration images, 512).
set -euo pipefail
cd "$(dirname "$0")/.."
ZOO=${1:-../shared/zoo}
CLI=${CLI:-build/app/quantscope-cli}
WORK=${WORK:-build/repvgg}
CALIB=${CALIB:-512}
OUT=${OUT:-bench/results/repvgg_zoo.json}
PY=/usr/bin/python3
FASHION=$ZOO/data/fashion
mkdir -p "$WORK"
if [ ! -f "$WORK/qarepvgg_train.onnx" ] || [ ! -f "$WORK/repvgg_train.onnx" ]; then
  echo "training (tools/train_repvgg.py, ~12 min on 2 cores)..." >&2
  $PY tools/train_repvgg.py "$FASHION" --out "$WORK" --epochs "${EPOCHS:-6}" >&2
fi
calib=(--data "$FASHION/calib-images-idx3-ubyte.gz" --mean 0.5 --std 0.5)
test=(--data "$WORK/heldout-images.npy" --labels "$WORK/heldout-labels.npy" --mean 0.5 --std 0.5)
top1() { $CLI eval "$@" "${test[@]}" --json | sed -E 's/.*"top1":([0-9.]+).*/\1/'; }

# keep_float PLAN REPORT FLAG OUT [BITS]: the plan with the flagged blocks' fused weights and block
# activation kept in float (or, with BITS, their weights at BITS bits from the same min/max).
keep() {
  $PY - "$@" <<'EOF'
import json, sys
plan, report, flag, out = sys.argv[1:5]
bits = int(sys.argv[5]) if len(sys.argv) > 5 else None
p = json.load(open(plan)); r = json.load(open(report))
blocks = [b for b in r["blocks"] if b["verdict"][flag]]
layers = {b["fused"]["node"] for b in blocks}
acts = {b["activation"] for b in blocks} | {b["output"] for b in blocks}
n = 0
for e in p["entries"]:
    if e["kind"] == "weight" and e.get("layer") in layers:
        n += 1
        if bits is None:
            e["quantize"] = False
        else:
            e["bits"] = bits
            e.pop("scale", None); e.pop("zero_point", None)
    elif e["kind"] == "activation" and e["tensor"] in acts and bits is None:
        e["quantize"] = False
json.dump(p, open(out, "w"))
print(len(blocks), n)
EOF
}

rows=()
printf "| model | blocks | flagged INT8 / 4-bit | fusion max rel err | float train | float fused | W8A8 pt | drop | flagged INT8 in float | flagged 4-bit in float | W4 RTN | W4 GPTQ | W4 OBQ | W4 RTN, flagged at 8 |\n"
printf "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
for name in repvgg qarepvgg; do
  m=$WORK/${name}_train.onnx
  fused=$WORK/${name}_qs_fused.onnx
  rep=$WORK/${name}_repvgg.json
  $CLI repvgg "$m" "${calib[@]}" --count "$CALIB" --json --fuse-out "$fused" > "$rep"
  $CLI repvgg "$m" "${calib[@]}" --count "$CALIB" > "$WORK/${name}_repvgg.txt"
  nblocks=$($PY -c "import json,sys; print(len(json.load(open(sys.argv[1]))['blocks']))" "$rep")
  fuse_err=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['fusion']['max_rel_error'])" "$rep")
  f_train=$(top1 "$m")
  f_fused=$(top1 "$fused")
  $CLI quantize "$fused" "${calib[@]}" --calib-count "$CALIB" --per-tensor --weight-bits 8 --act-bits 8 \
    --out "$WORK/${name}_w8a8.json" 2>/dev/null
  w8a8=$(top1 "$fused" --plan "$WORK/${name}_w8a8.json" --engine sim)
  read -r nf8 _ < <(keep "$WORK/${name}_w8a8.json" "$rep" flagged_int8 "$WORK/${name}_w8a8_keep8.json")
  keep8=$(top1 "$fused" --plan "$WORK/${name}_w8a8_keep8.json" --engine sim)
  read -r nf4 _ < <(keep "$WORK/${name}_w8a8.json" "$rep" flagged "$WORK/${name}_w8a8_keepall.json")
  keepall=$(top1 "$fused" --plan "$WORK/${name}_w8a8_keepall.json" --engine sim)
  declare -A w4=()
  for algo in rtn gptq obq; do
    $CLI quantize "$fused" "${calib[@]}" --calib-count "$CALIB" --weight-bits 4 --act-bits 32 --algo "$algo" \
      --out "$WORK/${name}_w4_$algo.json" 2>/dev/null
    w4[$algo]=$(top1 "$fused" --plan "$WORK/${name}_w4_$algo.json" --engine sim)
  done
  keep "$WORK/${name}_w4_rtn.json" "$rep" flagged "$WORK/${name}_w4_rtn_flag8.json" 8 > /dev/null
  w4flag8=$(top1 "$fused" --plan "$WORK/${name}_w4_rtn_flag8.json" --engine sim)
  drop=$($PY -c "print(f'{$f_fused - $w8a8:+.4f}')")
  printf "| %s | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n" "$name" "$nblocks" "$nf8" "$nf4" \
    "$fuse_err" "$f_train" "$f_fused" "$w8a8" "$drop" "$keep8" "$keepall" "${w4[rtn]}" "${w4[gptq]}" "${w4[obq]}" "$w4flag8"
  rows+=("{\"model\":\"$name\",\"blocks\":$nblocks,\"flagged_int8\":$nf8,\"flagged_any\":$nf4,\"fusion_max_rel_error\":$fuse_err,\"float_train_top1\":$f_train,\"float_fused_top1\":$f_fused,\"w8a8_per_tensor_top1\":$w8a8,\"w8a8_flagged_int8_float_top1\":$keep8,\"w8a8_flagged_any_float_top1\":$keepall,\"w4a32_rtn_top1\":${w4[rtn]},\"w4a32_gptq_top1\":${w4[gptq]},\"w4a32_obq_top1\":${w4[obq]},\"w4a32_rtn_flagged_w8_top1\":$w4flag8}")
done
mkdir -p "$(dirname "$OUT")"
(IFS=,; echo "[${rows[*]}]") | $PY -m json.tool > "$OUT"
echo "wrote $OUT; per-block tables: $WORK/*_repvgg.txt" >&2
