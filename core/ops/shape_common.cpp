#include "core/ops/shape_common.h"

#include <set>

namespace qs {

void require_inputs(const KernelInit& init, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!init.node.has_input(i)) init.invalid("input " + std::to_string(i) + " is required");
}

bool is_integer_dtype(DType t) {
  switch (t) {
    case DType::UInt8:
    case DType::Int8:
    case DType::UInt16:
    case DType::Int16:
    case DType::Int32:
    case DType::Int64:
    case DType::UInt32:
    case DType::UInt64:
      return true;
    default:
      return false;
  }
}

std::vector<int64_t> read_int_list(const Tensor& t, const std::string& what) {
  if (!is_integer_dtype(t.dtype())) throw Error(what + " should be an integer tensor, got " + t.str());
  if (t.rank() > 1) throw Error(what + " should be 0-D or 1-D, got " + t.str());
  return t.to_vector<int64_t>();
}

int64_t read_int_scalar(const Tensor& t, const std::string& what) {
  if (!is_integer_dtype(t.dtype())) throw Error(what + " should be an integer tensor, got " + t.str());
  if (t.numel() != 1 || t.rank() > 1) throw Error(what + " should hold exactly one value, got " + t.str());
  return t.value_as_int(0);
}

IntListInput::IntListInput(const KernelInit& init, size_t index, std::string what)
    : present_(init.node.has_input(index)), index_(index), what_(std::move(what)) {
  if (const Tensor* c = init.constant_input(index)) {
    try {
      constant_ = read_int_list(*c, what_);
    } catch (const UnsupportedError&) {
      throw;
    } catch (const Error& e) {
      init.invalid(e.what());
    }
  }
}

std::vector<int64_t> IntListInput::get(std::span<const Tensor* const> inputs) const {
  if (constant_) return *constant_;
  if (index_ >= inputs.size() || !inputs[index_]) throw Error(what_ + " was not given");
  return read_int_list(*inputs[index_], what_);
}

std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t rank, const std::string& what) {
  std::vector<int64_t> r;
  std::set<int64_t> seen;
  for (int64_t a : axes) {
    const int64_t n = a < 0 ? a + rank : a;
    if (n < 0 || n >= rank)
      throw Error(what + ": axis " + std::to_string(a) + " is out of range for rank " + std::to_string(rank));
    if (!seen.insert(n).second)
      throw Error(what + ": axis " + std::to_string(a) + " is repeated in " + ints_str(axes));
    r.push_back(n);
  }
  return r;
}

std::string ints_str(const std::vector<int64_t>& v) { return shape_str(v); }

}  // namespace qs
