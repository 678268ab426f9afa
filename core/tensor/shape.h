// Tensor shapes: a list of non-negative extents, row-major (the last axis varies fastest).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qs {

using Shape = std::vector<int64_t>;

// Number of elements (1 for a scalar, 0 if any extent is 0).
int64_t numel(const Shape& s);
// Row-major strides in elements.
std::vector<int64_t> strides_of(const Shape& s);
// "[1, 3, 224, 224]".
std::string shape_str(const Shape& s);
// Normalizes a possibly negative axis into [0, rank); throws Error naming `what` when out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, const std::string& what);
// Numpy-style broadcast of two shapes; throws Error naming `what` when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& what);

}  // namespace qs
