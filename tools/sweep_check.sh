#!/bin/bash
# Robustness sweep: the whole CLI path and ONNX Runtime on models in exporters' forms we had not tried.
#   ORT_PREFIX=build/ort tools/sweep_check.sh BUILD_DIR [WORK_DIR] [MODEL...]
# Makes the models with tools/make_sweep_models.py (unless WORK_DIR/models holds them), then per model:
# info, quantize (8-bit, per channel, minmax on 256 samples), analyze, run float/sim/int on 200 test
# samples, export qdq (--uint8-weights: ORT multiplies those exactly) and qop, ONNX Runtime on the float
# model and both exports. Prints a table: each cell "ok"/a number, or FAIL with the log to read.
#   int-vs-sim: integer engine vs the fake-quant simulation, in output LSBs (must be 0)
#   ORT QDQ/QOP: ORT on the export vs our integer engine, in output LSBs, and top-1 agreement
#   float-ORT: our float engine vs ORT on the float model, max |diff|
set -u
BUILD=${1:?usage: sweep_check.sh BUILD_DIR [WORK_DIR] [MODEL...]}
WORK=${2:-/tmp/sweep}
shift $(( $# >= 2 ? 2 : 1 ))
HERE=$(cd "$(dirname "$0")" && pwd)
CLI=$BUILD/app/quantscope-cli
PY=/usr/bin/python3
: "${ORT_PREFIX:?set ORT_PREFIX to the folder holding node_modules/onnxruntime-node}"
export ORT_PREFIX
mkdir -p "$WORK/models" "$WORK/out"
ls "$WORK"/models/*.onnx >/dev/null 2>&1 || $PY "$HERE/make_sweep_models.py" "$WORK/models" || exit 1
MODELS=("$@")
[ ${#MODELS[@]} -eq 0 ] && MODELS=($(cd "$WORK/models" && ls *.onnx | sed 's/\.onnx$//'))

cmp() { $PY "$HERE/sweep_compare.py" "$@" 2>/dev/null || echo FAIL; }
printf "| %-22s | %-5s | %-8s | %-7s | %-12s | %-28s | %-28s | %-9s |\n" model info quantize analyze int-vs-sim "ORT QDQ vs int" "ORT QOP vs int" float-ORT
printf "|%s|\n" "------------------------|-------|----------|---------|--------------|------------------------------|------------------------------|-----------"
for name in "${MODELS[@]}"; do
  M=$WORK/models/$name.onnx
  O=$WORK/out/$name
  L=$O.log
  : >"$L"
  step() { echo "\$ $*" >>"$L"; "$@" >>"$L" 2>&1; }
  info=FAIL quant=FAIL ana=FAIL ivs=FAIL qdq=FAIL qop=FAIL flo=FAIL
  step "$CLI" info "$M" && info=ok
  if step "$CLI" quantize "$M" --data "$WORK/models/$name.calib.npy" --out "$O.plan.json"; then
    quant=ok
    step "$CLI" analyze "$M" --data "$WORK/models/$name.calib.npy" --plan "$O.plan.json" --report "$O.report.json" \
      --count 32 && ana=ok
    out=$($PY -c "import onnx,sys; print(onnx.load(sys.argv[1]).graph.output[0].name)" "$M")
    for e in float sim int; do
      step "$CLI" run "$M" --input "$WORK/models/$name.test.npy" --output "$O.$e.npy" --plan "$O.plan.json" --engine $e
    done
    [ -f "$O.int.npy" ] && [ -f "$O.sim.npy" ] && ivs=$(cmp "$O.int.npy" "$O.sim.npy" "$O.plan.json" "$out")
    for f in qdq qop; do
      extra=(); [ $f = qdq ] && extra=(--uint8-weights)
      rm -f "$O.$f.onnx" "$O.ort_$f.npy"
      if step "$CLI" export "$M" --plan "$O.plan.json" --format $f "${extra[@]}" --out "$O.$f.onnx" &&
         step node "$HERE/sweep_ort.mjs" "$O.$f.onnx" "$WORK/models/$name.test.npy" "$O.ort_$f.npy" && [ -f "$O.int.npy" ]; then
        r=$(cmp "$O.ort_$f.npy" "$O.int.npy" "$O.plan.json" "$out")
      else
        r=FAIL
      fi
      [ $f = qdq ] && qdq=$r || qop=$r
    done
  else
    step "$CLI" run "$M" --input "$WORK/models/$name.test.npy" --output "$O.float.npy"
  fi
  step node "$HERE/sweep_ort.mjs" "$M" "$WORK/models/$name.test.npy" "$O.ort_float.npy" && [ -f "$O.float.npy" ] &&
    flo=$(cmp "$O.float.npy" "$O.ort_float.npy")
  printf "| %-22s | %-5s | %-8s | %-7s | %-12s | %-28s | %-28s | %-9s |\n" "$name" "$info" "$quant" "$ana" "$ivs" "$qdq" "$qop" "$flo"
done
