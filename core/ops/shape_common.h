// Helpers shared by the shape and data-movement kernels (core/ops/shape_*.cpp, movement_*.cpp): reading
// shape-like integer inputs, axis lists, and element-size dispatch for type-agnostic byte copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/ops/kernel.h"

namespace qs {

// Throws Error naming the node unless inputs 0 .. n-1 are all given (not omitted).
void require_inputs(const KernelInit& init, size_t n);

// True for the integer dtypes (including uint64; excluding bool).
bool is_integer_dtype(DType t);

// Reads a 0-D or 1-D integer tensor as int64 values; throws Error naming `what` for another dtype or rank.
std::vector<int64_t> read_int_list(const Tensor& t, const std::string& what);
// Reads a tensor holding exactly one integer (0-D, or 1-D of length 1).
int64_t read_int_scalar(const Tensor& t, const std::string& what);

// A shape-like integer input (Reshape's shape, Slice's starts, Squeeze's axes, ...): read once in the
// factory when it is a constant, otherwise at run time. `what` names it in messages ("input 'shape'").
class IntListInput {
 public:
  IntListInput() = default;
  IntListInput(const KernelInit& init, size_t index, std::string what);
  bool present() const { return present_; }
  const std::optional<std::vector<int64_t>>& constant() const { return constant_; }
  // The values: the constant, or the run-time input. Precondition: present().
  std::vector<int64_t> get(std::span<const Tensor* const> inputs) const;

 private:
  bool present_ = false;
  size_t index_ = 0;
  std::string what_;
  std::optional<std::vector<int64_t>> constant_;
};

// Normalizes each axis into [0, rank) (negative counts from the end); throws Error naming `what` for an
// axis out of range or repeated.
std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t rank, const std::string& what);

// "[1, 2, 3]" for messages.
std::string ints_str(const std::vector<int64_t>& v);

// Calls f(U{}) with U an unsigned integer type of `elem_size` bytes (1, 2, 4 or 8), so type-agnostic
// kernels copy elements of any dtype with one typed load/store.
template <typename F>
decltype(auto) dispatch_elem_size(size_t elem_size, F&& f) {
  switch (elem_size) {
    case 1:
      return f(uint8_t{});
    case 2:
      return f(uint16_t{});
    case 4:
      return f(uint32_t{});
    case 8:
      return f(uint64_t{});
    default:
      throw UnsupportedError("element size " + std::to_string(elem_size) + " is not supported");
  }
}

// Registration of each file's kernels; called by register_shape_ops (shape.cpp).
void register_view_ops(OpRegistry& r);          // Identity, Dropout, Flatten, Reshape, Squeeze, Unsqueeze
void register_shape_info_ops(OpRegistry& r);    // Shape, Size
void register_generator_ops(OpRegistry& r);     // Constant, ConstantOfShape, Range
void register_onehot_ops(OpRegistry& r);        // OneHot
void register_nonzero_ops(OpRegistry& r);       // NonZero
void register_transpose_ops(OpRegistry& r);     // Transpose, DepthToSpace, SpaceToDepth
void register_concat_split_ops(OpRegistry& r);  // Concat, Split
void register_slice_ops(OpRegistry& r);         // Slice
void register_expand_tile_ops(OpRegistry& r);   // Expand, Tile
void register_gather_ops(OpRegistry& r);        // Gather, GatherElements, GatherND
void register_scatter_ops(OpRegistry& r);       // ScatterND, ScatterElements, Scatter
void register_trilu_ops(OpRegistry& r);         // Trilu

}  // namespace qs
