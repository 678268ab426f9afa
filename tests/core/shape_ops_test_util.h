// Helpers shared by the shape and indexing kernel tests (shape_ops_test.cpp, index_ops_test.cpp): running
// one kernel (with its constant inputs known or not) and the brute-force index references.
#pragma once

#include <gtest/gtest.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <set>

#include "core/ops/kernel.h"

namespace qs::shape_test {

inline constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

// ---- running one kernel ----

struct Op {
  Op(std::string type_, int64_t opset_, std::map<std::string, Attribute> attrs_, std::vector<Tensor> in_,
     std::set<size_t> constant_ = {}, size_t n_out_ = 1)
      : type(std::move(type_)),
        opset(opset_),
        attrs(std::move(attrs_)),
        in(std::move(in_)),
        constant(std::move(constant_)),
        n_out(n_out_) {}
  std::string type;
  int64_t opset;
  std::map<std::string, Attribute> attrs;
  std::vector<Tensor> in;     // an undefined Tensor is an omitted input
  std::set<size_t> constant;  // inputs the factory sees as constants
  size_t n_out;
};

inline std::unique_ptr<Kernel> create(const Op& op, Node& n, std::map<std::string, Tensor>& consts) {
  n.name = "test_node";
  n.op_type = op.type;
  for (size_t i = 0; i < op.in.size(); ++i)
    n.inputs.push_back(op.in[i].defined() ? "i" + std::to_string(i) : "");
  for (size_t k = 0; k < op.n_out; ++k) n.outputs.push_back("o" + std::to_string(k));
  n.attrs = op.attrs;
  for (size_t i : op.constant) consts[n.inputs[i]] = op.in[i];
  KernelInit init{n, op.opset, [&consts](const std::string& v) -> const Tensor* {
                    auto it = consts.find(v);
                    return it == consts.end() ? nullptr : &it->second;
                  }};
  return OpRegistry::instance().create(init);
}

inline std::vector<Tensor> run(const Op& op) {
  Node n;
  std::map<std::string, Tensor> consts;
  auto k = create(op, n, consts);
  std::vector<const Tensor*> ptrs;
  for (const auto& t : op.in) ptrs.push_back(t.defined() ? &t : nullptr);
  std::vector<Tensor> outs(op.n_out);
  k->run(ptrs, outs);
  return outs;
}

inline void expect_same(const Tensor& got, const Tensor& want, const std::string& ctx = "") {
  ASSERT_TRUE(got.defined()) << ctx;
  EXPECT_EQ(got.dtype(), want.dtype()) << ctx;
  ASSERT_EQ(got.shape(), want.shape()) << ctx << " got " << got.str() << " want " << want.str();
  EXPECT_EQ(std::memcmp(got.raw(), want.raw(), want.nbytes()), 0)
      << ctx << " values differ for " << want.str();
}

// Runs with every non-data input computed at run time, then again with them constant (read by the
// factory); both must agree. Returns the first.
inline std::vector<Tensor> run_both(Op op) {
  op.constant.clear();
  auto a = run(op);
  for (size_t i = 1; i < op.in.size(); ++i)
    if (op.in[i].defined()) op.constant.insert(i);
  auto b = run(op);
  for (size_t k = 0; k < a.size(); ++k) expect_same(b[k], a[k], op.type + " constant-input variant");
  return a;
}

// Expects `f` to throw E whose message contains every one of `parts`.
template <typename E = Error>
inline void expect_error(const std::function<void()>& f, std::vector<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no error thrown; expected one mentioning " << parts[0];
  } catch (const E& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << " lacks " << p;
  }
}

inline Attribute attr_s(const std::string& s) {
  Attribute a;
  a.kind = Attribute::Kind::String;
  a.s = s;
  return a;
}
inline Attribute attr_t(const Tensor& t) {
  Attribute a;
  a.kind = Attribute::Kind::Tensor;
  a.t = t;
  return a;
}
inline Tensor ints(std::vector<int64_t> v) {
  return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
}

// ---- brute-force references ----

inline const std::vector<DType> kTypes = {DType::Float32, DType::Int64, DType::UInt8,
                                          DType::Bool,    DType::Int16, DType::Float64};

inline Tensor random_tensor(DType dt, const Shape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  Tensor t(dt, s);
  dispatch_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if constexpr (std::is_same_v<T, bool>)
        p[i] = rng() % 2;
      else if constexpr (std::is_floating_point_v<T>)
        p[i] = static_cast<T>(static_cast<int>(rng() % 2001) - 1000) / T(8);
      else
        p[i] = static_cast<T>(rng() % 120);
    }
  });
  return t;
}

inline std::vector<int64_t> unravel(int64_t flat, const Shape& s) {
  std::vector<int64_t> m(s.size());
  for (size_t a = s.size(); a-- > 0;) {
    m[a] = flat % s[a];
    flat /= s[a];
  }
  return m;
}
inline int64_t ravel(const std::vector<int64_t>& m, const Shape& s) {
  int64_t f = 0;
  for (size_t a = 0; a < s.size(); ++a) f = f * s[a] + m[a];
  return f;
}

// A tensor of `shape` whose element at multi-index m copies element src_of(m) (flat) of `src`, or is
// all-zero bytes when src_of returns -1.
inline Tensor reference(const Tensor& src, const Shape& shape,
                        const std::function<int64_t(const std::vector<int64_t>&)>& src_of,
                        DType dt = DType::Undefined) {
  Tensor t = Tensor::zeros(dt == DType::Undefined ? src.dtype() : dt, shape);
  const size_t es = dtype_size(t.dtype());
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int64_t s = src_of(unravel(i, shape));
    if (s >= 0)
      std::memcpy(static_cast<std::byte*>(t.raw()) + i * es,
                  static_cast<const std::byte*>(src.raw()) + s * es, es);
  }
  return t;
}

}  // namespace qs::shape_test
