#!/usr/bin/env bash
# Issue 4 (Optimal Brain Compression): on the zoo models, top-1 on the 10k test set of
#   - per-channel weights at W4/W3/W2, activations float (A32) and A8, rounded to nearest (RTN), GPTQ and
#     OBQ on the same plan grid (min/max per channel unless WEIGHT_METHOD=mse), with the sum over layers
#     of ‖WX − ŴX‖²/N and the wall/CPU time of `quantize`;
#   - pruning at 50% (unstructured) and 2:4, magnitude vs ExactOBS, evaluated in float, with the
#     achieved sparsity of the prunable weights and the summed layer losses.
# Calibration: the first CALIB (default 1024) images of the zoo's calibration set.
# BIAS_CORRECTION: "0" (default), "1" or "0 1": each quantization row without and/or with `--bias-correction`
#   after the algorithm (the statistics correction OBC applies after compression: each layer's mean output
#   error on the calibration data, measured sequentially, goes into its bias); with "1" in it the table gets
#   a BC column. The Σloss columns are the algorithms' layer losses, before bias correction.
# Usage: bench/obc_zoo.sh [ZOO_DIR]   (env: CLI, OUT_DIR, MODELS, WBITS, ABITS, ALGOS, CALIB, PRUNE=0/1,
#        QUANT=0/1, WEIGHT_METHOD, BIAS_CORRECTION, THREADS). Prints markdown tables and writes
#        $OUT_DIR/obc_zoo.{json,md}.
set -euo pipefail
cd "$(dirname "$0")/.."
ZOO=${1:-../shared/zoo}
CLI=${CLI:-build/app/quantscope-cli}
OUT_DIR=${OUT_DIR:-bench/results}
CALIB=${CALIB:-1024}
# Threads per command (0: all cores). On a crowded machine 1 avoids OpenMP threads waiting on each other.
THREADS=${THREADS:-0}
WM=${WEIGHT_METHOD:-minmax}
BCS=${BIAS_CORRECTION:-0}
BC_COL=0
for bc in $BCS; do
  case $bc in 0) ;; 1) BC_COL=1 ;; *) echo "BIAS_CORRECTION: 0, 1 or \"0 1\", not '$bc'" >&2; exit 2 ;; esac
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
declare -A DATA=([mnist_lenet]=mnist [fashion_resnet]=fashion [fashion_mbv2]=fashion)
mkdir -p "$OUT_DIR"
ROWS=$TMP/rows.jsonl
: > "$ROWS"
MD=$TMP/table.md

top1() { sed -E 's/.*"top1":([0-9.]+).*/\1/'; }
# Sum of a numeric field over the compressed layers of a report.
lsum() { jq "[.layers[] | select(.compressed) | .$2] | add" "$1"; }
timed() {  # timed FILE cmd...: runs cmd, writes "wall user" seconds to FILE
  local f=$1; shift
  /usr/bin/time -f "%e %U" -o "$f" "$@"
}

echo "load before: $(uptime)" | tee "$TMP/load"
for model in ${MODELS:-mnist_lenet fashion_resnet fashion_mbv2}; do
  d=$ZOO/data/${DATA[$model]}
  m=$ZOO/models/$model.onnx
  common=(--mean 0.5 --std 0.5 --threads "$THREADS")
  calib=(--data "$d/calib-images-idx3-ubyte.gz" "${common[@]}" --calib-count "$CALIB")
  test=(--data "$d/t10k-images-idx3-ubyte.gz" --labels "$d/t10k-labels-idx1-ubyte.gz" "${common[@]}" --batch 100)
  float=$($CLI eval "$m" "${test[@]}" --json | top1)
  echo "## $model (float top-1 $float)"
  if [ "${QUANT:-1}" = 1 ]; then
    bc_head="" bc_rule=""
    [ $BC_COL = 1 ] && bc_head=" BC |" bc_rule="---|"
    echo "| W | A |$bc_head RTN | GPTQ | OBQ | Σloss RTN→GPTQ | Σloss RTN→OBQ | GPTQ s (wall/cpu) | OBQ s (wall/cpu) |"
    echo "|---|---|$bc_rule---|---|---|---|---|---|---|"
    for w in ${WBITS:-4 3 2}; do
      for a in ${ABITS:-32 8}; do
       for bc in $BCS; do
        declare -A T=() L=() S=()
        for algo in ${ALGOS:-rtn gptq obq}; do
          plan=$TMP/$model.w$w.a$a.bc$bc.$algo.json
          rep=$TMP/$model.w$w.a$a.bc$bc.$algo.report.json
          extra=()
          [ "$algo" != rtn ] && extra=(--algo "$algo" --report "$rep")
          [ "$bc" = 1 ] && extra+=(--bias-correction)
          timed "$TMP/time" $CLI quantize "$m" "${calib[@]}" --weight-bits "$w" --act-bits "$a" --weight-method "$WM" \
            "${extra[@]}" --out "$plan" 2>"$TMP/log" || { cat "$TMP/log"; exit 1; }
          S[$algo]=$(tr ' ' / < "$TMP/time")
          T[$algo]=$($CLI eval "$m" "${test[@]}" --plan "$plan" --json | top1)
          # Each run's baseline is RTN on the same layer inputs (sequential: from that run's compressed model).
          before=null after=null
          if [ "$algo" != rtn ]; then
            before=$(lsum "$rep" loss_before)
            after=$(lsum "$rep" loss_after)
            L[$algo]=$(printf '%.4g→%.4g' "$before" "$after")
          fi
          printf '{"model":"%s","float_top1":%s,"weight_bits":%s,"act_bits":%s,"algo":"%s","weight_method":"%s","bias_correction":%s,"top1":%s,"loss_sum":%s,"rtn_loss_sum":%s,"wall_user_s":"%s"}\n' \
            "$model" "$float" "$w" "$a" "$algo" "$WM" "$([ "$bc" = 1 ] && echo true || echo false)" "${T[$algo]}" \
            "$after" "$before" "${S[$algo]}" >> "$ROWS"
        done
        bc_cell=""
        [ $BC_COL = 1 ] && bc_cell=" $([ "$bc" = 1 ] && echo yes || echo no) |"
        echo "| $w | $a |$bc_cell ${T[rtn]:-} | ${T[gptq]:-} | ${T[obq]:-} | ${L[gptq]:-} | ${L[obq]:-} | ${S[gptq]:-} | ${S[obq]:-} |"
        unset T L S
       done
      done
    done
  fi
  if [ "${PRUNE:-1}" = 1 ]; then
    echo
    echo "| pruning | magnitude | ExactOBS | zeros of prunable weights | Σloss magnitude | Σloss ExactOBS | ExactOBS s (wall/cpu) |"
    echo "|---|---|---|---|---|---|---|"
    for spec in "--sparsity 0.5" "--nm 2:4"; do
      declare -A T=() S=()
      for method in magnitude exactobs; do
        out=$TMP/$model.$method.onnx
        rep=$TMP/$model.$method.report.json
        timed "$TMP/time" $CLI prune "$m" "${calib[@]}" $spec --method "$method" --report "$rep" --out "$out" \
          2>"$TMP/log" || { cat "$TMP/log"; exit 1; }
        S[$method]=$(tr ' ' / < "$TMP/time")
        T[$method]=$($CLI eval "$out" "${test[@]}" --json | top1)
        zeros=$(jq '[.layers[] | select(  .pruned  ) | .sparsity * .rows * .cols] | add' "$rep")
        total=$(jq '[.layers[] | select(  .pruned  ) | .rows * .cols] | add' "$rep")
        L_before=$(lsum "$rep" loss_before)
        L_after=$(lsum "$rep" loss_after)
        printf '{"model":"%s","float_top1":%s,"prune":"%s","method":"%s","top1":%s,"zeros":%s,"prunable":%s,"loss_sum":%s,"magnitude_loss_sum":%s,"wall_user_s":"%s"}\n' \
          "$model" "$float" "$spec" "$method" "${T[$method]}" "$zeros" "$total" "$L_after" "$L_before" "${S[$method]}" >> "$ROWS"
      done
      echo "| $spec | ${T[magnitude]} | ${T[exactobs]} | $(printf '%.0f' "$zeros") / $total | $L_before | $L_after | ${S[exactobs]} |"
      unset T S
    done
  fi
  echo
done | tee "$MD"
echo "load after: $(uptime)" | tee -a "$TMP/load"
cat "$TMP/load" >> "$MD"
jq -s . "$ROWS" > "$OUT_DIR/obc_zoo.json"
cp "$MD" "$OUT_DIR/obc_zoo.md"
