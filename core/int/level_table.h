// IntKind::Table (lowering.h): an elementwise op of one quantized value whose result is a quantization
// point — Sigmoid, Tanh, Erf, Exp, HardSwish, Softplus, ..., or Pow by a scalar constant — run as a table
// over the input's levels. The input is 8-bit, so it takes at most 256 levels; entry q − qmin is the float
// island's own result for level q: dequantize, the registry's float kernel, quantize to the output point.
// The table is built by running exactly that kernel, so the integer engine equals the island, and the
// simulation that models the island, by construction. Built only when the kernel returns the same bits at
// every position of a tensor (the vectorized body, the scalar remainder, any alignment); a kernel that did
// not would leave the node a float island.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/graph/graph.h"
#include "core/quant/quantizer.h"

namespace qs {

// Whether n's op computes each output element from the same element of input 0 alone (other inputs, if
// any, being scalar constants): the ops a table can stand for.
bool tabulable_op(const Graph& g, const Node& n);

// The output level for each input level qmin .. qmax of `in` (out's storage levels), or empty with `why`
// set when no exact table exists: the input is not 8-bit, or the kernel is not position-independent.
// Errors of the float kernel itself (an invalid attribute) propagate.
std::vector<int32_t> level_table(const Graph& g, const Node& n, const QuantParams& in, const QuantParams& out,
                                 std::string* why);

// The output level for each storage byte of `in` (int8 or uint8) under `table` (level_table's result).
// Bytes outside [qmin, qmax], which no producer stores, read the nearest level's entry.
std::array<int32_t, 256> table_by_byte(const std::vector<int32_t>& table, const QuantParams& in);

}  // namespace qs
