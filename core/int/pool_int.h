// Integer pooling. MaxPool keeps the grid (max commutes with a monotone dequantization); AveragePool and
// GlobalAveragePool sum x − x_zp exactly over each window and requantize the sum once, with the
// multiplier s_in / (s_out · divisor): the division by the window size and the change of scale share one
// rounding (requant.h). The divisor is the float kernel's (core/ops/pool_kernels.h): the input elements
// of the window, plus the padding when count_include_pad.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/int/isa.h"
#include "core/ops/pool_kernels.h"
#include "core/ops/window.h"
#include "core/tensor/tensor.h"

namespace qs {

// The geometry of one run for an N x C x D... input, as the float kernels compute it. Windows lying
// entirely in the padding are refused (Error) unless `padding_counts`.
PoolPlan pool_plan_for(const WindowAttrs& a, const Shape& x, const std::string& where, bool padding_counts);
Shape pool_output_shape(const Shape& x, const PoolPlan& p);

// Divisor of every output position of one plane (row-major over the output extents).
std::vector<int32_t> average_pool_divisors(const PoolPlan& p, bool count_include_pad);

// Window sums of x − zp (padding contributes 0) for every plane and output position: [planes, outputs].
std::vector<int64_t> window_sums(const std::vector<int32_t>& x, int32_t zp, const PoolPlan& p);
// Window maxima (padding ignored): [planes, outputs].
std::vector<int32_t> window_max(const std::vector<int32_t>& x, const PoolPlan& p);

// 2-D MaxPool of an 8-bit tensor (int8 or uint8) into y (allocated, pool_output_shape) with AVX2: equal to
// max_pool<T> of core/ops/pool_kernels.h. Returns false, doing nothing, when `isa` is not Avx2 or the
// pooling is not 2-D or x is not 8-bit: the caller then runs the float kernel on the integers.
bool max_pool_8bit(IntIsa isa, const Tensor& x, Tensor& y, const PoolPlan& p);

namespace detail {
void max_pool_8bit_avx2(const void* x, void* y, bool sgn, const PoolPlan& p);  // pool_int_avx2.cpp
// Output rows [0, rows) of a 2×2 stride-2 MaxPool without padding over 8-bit rows (signed when `sgn`):
// output row oh, OW values, from input rows 2·oh and 2·oh + 1 at x + 2·oh·pitch, into y + oh·OW. Reads
// stay below x_end; whole-vector writes past a row's end stay below y_end. AVX2 only.
void max_pool_2x2_rows_8bit_avx2(const void* x, int64_t pitch, const void* x_end, void* y, int64_t rows,
                                 int64_t OW, const void* y_end, bool sgn);
// sums[c] = Σ_q x[q·C + c] over `positions` rows of C 8-bit values (signed when `sgn`): a channels-last
// image's channel sums for GlobalAveragePool, exact in int32 for positions < 2^23. AVX2 only.
void sum_positions_8bit_avx2(const void* x, bool sgn, int64_t positions, int64_t C, int32_t* sums);
}  // namespace detail

}  // namespace qs
