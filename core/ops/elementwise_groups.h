// The elementwise op groups, one registration function per file; register_elementwise_ops calls them all.
#pragma once

#include "core/ops/kernel.h"

namespace qs::ew {

void register_unary_math_ops(OpRegistry& r);  // unary_math.cpp: Sqrt, Exp, Log, Abs, Sin, Not, IsNaN, ...
void register_activation_ops(OpRegistry& r);  // unary_activation.cpp: Relu, LeakyRelu, Elu, Sigmoid, ...
void register_clip_ops(OpRegistry& r);        // unary_clip.cpp: Clip
void register_arith_ops(OpRegistry& r);       // binary_arith.cpp: Add, Sub, Mul, Div, Mod, Pow, BitShift
void register_compare_ops(OpRegistry& r);     // binary_compare.cpp: Equal, Less, ..., And, Or, Xor
void register_prelu_ops(OpRegistry& r);       // binary_prelu.cpp: PRelu
void register_variadic_ops(OpRegistry& r);    // elementwise_variadic.cpp: Min, Max, Sum, Mean
void register_where_ops(OpRegistry& r);       // elementwise_where.cpp: Where
void register_cast_ops(OpRegistry& r);        // elementwise_cast.cpp: Cast, CastLike

}  // namespace qs::ew
