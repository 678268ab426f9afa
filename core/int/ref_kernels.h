// Reference integer kernels: plain loops that follow the definitions in layer_quant.h literally, with
// int64 accumulators. They are the oracle the optimized kernels are tested against, and the engine's
// path for layers whose int32 accumulation could overflow (LayerQuant::int32_safe) or whose shape the
// optimized kernels do not cover. Inputs and outputs are int32 arrays (outputs already clamped).
#pragma once

#include <cstdint>

#include "core/int/layer_quant.h"
#include "core/ops/conv_geometry.h"

namespace qs {

// Conv, any spatial rank and group: x [N, C, D...], y [N, M, O...].
void conv_ref(const ConvGeometry& g, const int32_t* x, const LayerQuant& q, int32_t* y);
// ConvTranspose (scatter form): x [N, C, D...], y [N, M, O...]; weight [C, M/group, k...].
void conv_transpose_ref(const ConvGeometry& g, const int32_t* x, const LayerQuant& q, int32_t* y);
// Fully connected: y[r][n] for rows r of x [rows, K]; the weight is [N, K] when trans_w (Gemm transB=1),
// else [K, N]. Output channel = n.
void fc_ref(int64_t rows, int64_t K, int64_t N, const int32_t* x, const LayerQuant& q, bool trans_w, int32_t* y);
// MatMul with a constant left operand W [M, K]: y[b] = W · x[b] for x [batch, K, N]; output channel = m.
void matmul_left_ref(int64_t batch, int64_t M, int64_t K, int64_t N, const int32_t* x, const LayerQuant& q,
                     int32_t* y);

}  // namespace qs
