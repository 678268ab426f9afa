// Gemm and MatMul on the shared single-threaded GEMM (core/ops/gemm_eigen.h), parallelized over
// shape-determined tiles or batch entries. Computes float32, float64, int32 and int64.
#include <memory>

#include "core/common/parallel.h"
#include "core/ops/broadcast.h"
#include "core/ops/gemm_eigen.h"
#include "core/ops/kernel.h"

namespace qs {

namespace {

// Calls f(T{}) for the types the GEMM is instantiated for; UnsupportedError otherwise.
template <typename F>
void dispatch_gemm_type(DType t, const std::string& op, F&& f) {
  switch (t) {
    case DType::Float32:
      return f(float{});
    case DType::Float64:
      return f(double{});
    case DType::Int32:
      return f(int32_t{});
    case DType::Int64:
      return f(int64_t{});
    default:
      throw UnsupportedError(op + " of " + dtype_name(t) + " tensors is not supported");
  }
}

void check_same_type(const Tensor& a, const Tensor& b, const char* an, const char* bn) {
  if (a.dtype() != b.dtype())
    throw Error(std::string("input ") + bn + " is " + dtype_name(b.dtype()) + " but input " + an + " is " +
                dtype_name(a.dtype()));
}

// ---- Gemm: Y = alpha * A' * B' + beta * C ----

class GemmKernel final : public Kernel {
 public:
  GemmKernel(bool ta, bool tb, float alpha, float beta, bool strict_c)
      : ta_(ta), tb_(tb), alpha_(alpha), beta_(beta), strict_c_(strict_c) {}

  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& a = *in[0];
    const Tensor& b = *in[1];
    const Tensor* c = in.size() > 2 ? in[2] : nullptr;
    if (a.rank() != 2 || b.rank() != 2)
      throw Error("A " + shape_str(a.shape()) + " and B " + shape_str(b.shape()) + " must both be 2-D");
    check_same_type(a, b, "A", "B");
    if (c) check_same_type(a, *c, "A", "C");
    const int64_t M = ta_ ? a.dim(1) : a.dim(0), K = ta_ ? a.dim(0) : a.dim(1);
    const int64_t Kb = tb_ ? b.dim(1) : b.dim(0), N = tb_ ? b.dim(0) : b.dim(1);
    if (K != Kb)
      throw Error("inner dimensions differ: A " + shape_str(a.shape()) + (ta_ ? " (transposed)" : "") +
                  " and B " + shape_str(b.shape()) + (tb_ ? " (transposed)" : "") +
                  " give K = " + std::to_string(K) + " vs " + std::to_string(Kb));
    const Shape y_shape{M, N};
    if (c) check_c(c->shape(), y_shape);
    Tensor y(a.dtype(), y_shape);
    dispatch_gemm_type(a.dtype(), "Gemm", [&](auto tag) {
      using T = decltype(tag);
      T* yd = y.data<T>();
      if (c) fill_beta_c(*c, y_shape, yd);
      gemm_parallel<T>(ta_, tb_, M, N, K, static_cast<T>(alpha_), a.data<T>(), a.dim(1), b.data<T>(),
                       b.dim(1), yd, N,
                       /*accumulate=*/c != nullptr);
    });
    out[0] = std::move(y);
  }

 private:
  // C broadcasts unidirectionally to (M, N); before opset 7 without `broadcast` it must be exactly (M, N).
  void check_c(const Shape& c, const Shape& y) const {
    bool ok = c.size() <= 2;
    for (size_t i = 0; ok && i < c.size(); ++i) {
      const int64_t d = c[c.size() - 1 - i], o = y[1 - i];
      ok = d == o || d == 1;
    }
    if (strict_c_) ok = c == y;
    if (!ok)
      throw Error("C has shape " + shape_str(c) + ", which does not " +
                  (strict_c_ ? "equal" : "broadcast to") + " the output shape " + shape_str(y));
  }

  template <typename T>
  void fill_beta_c(const Tensor& c, const Shape& y_shape, T* y) const {
    const std::vector<int64_t> s = broadcast_strides(c.shape(), y_shape);
    const T* cd = c.data<T>();
    const T beta = static_cast<T>(beta_);
    for (int64_t i = 0; i < y_shape[0]; ++i)
      for (int64_t j = 0; j < y_shape[1]; ++j) y[i * y_shape[1] + j] = beta * cd[i * s[0] + j * s[1]];
  }

  bool ta_, tb_;
  float alpha_, beta_;
  bool strict_c_;
};

std::unique_ptr<Kernel> make_gemm(const KernelInit& init) {
  const Node& n = init.node;
  const size_t ni = n.num_inputs();
  // C is optional from opset 11; older models always give it, but an omitted C means "no C" either way.
  if (ni < 2 || ni > 3 || !n.has_input(0) || !n.has_input(1))
    init.invalid("expects inputs A, B and optional C");
  if (n.outputs.size() != 1) init.invalid("expects 1 output");
  const bool ta = n.attr_int("transA", 0) != 0, tb = n.attr_int("transB", 0) != 0;
  // Opsets 1 and 6 broadcast C only when broadcast=1 (to (M, N), numpy style); from opset 7 always.
  const bool strict_c = init.opset < 7 && n.attr_int("broadcast", 0) == 0;
  return std::make_unique<GemmKernel>(ta, tb, n.attr_float("alpha", 1.f), n.attr_float("beta", 1.f),
                                      strict_c);
}

// ---- MatMul: numpy matmul ----

class MatMulKernel final : public Kernel {
 public:
  void run(std::span<const Tensor* const> in, std::span<Tensor> out) const override {
    const Tensor& a = *in[0];
    const Tensor& b = *in[1];
    check_same_type(a, b, "A", "B");
    if (a.rank() == 0 || b.rank() == 0)
      throw Error("inputs must have rank >= 1; got A " + shape_str(a.shape()) + " and B " +
                  shape_str(b.shape()));
    // 1-D A is a row (1 x K), 1-D B a column (K x 1); the promoted axis is removed from the result.
    const Shape& as = a.shape();
    const Shape& bs = b.shape();
    const int64_t M = a.rank() >= 2 ? as[as.size() - 2] : 1, K = as.back();
    const int64_t Kb = b.rank() >= 2 ? bs[bs.size() - 2] : bs[0], N = b.rank() >= 2 ? bs.back() : 1;
    if (K != Kb)
      throw Error("inner dimensions differ: A " + shape_str(as) + " has K = " + std::to_string(K) + ", B " +
                  shape_str(bs) + " has K = " + std::to_string(Kb));
    const Shape batch_a(as.begin(), as.end() - std::min<int64_t>(a.rank(), 2));
    const Shape batch_b(bs.begin(), bs.end() - std::min<int64_t>(b.rank(), 2));
    const Shape batch = broadcast_shapes(
        batch_a, batch_b, "MatMul batch dimensions of A " + shape_str(as) + " and B " + shape_str(bs));
    Shape y_shape = batch;
    if (a.rank() >= 2) y_shape.push_back(M);
    if (b.rank() >= 2) y_shape.push_back(N);
    Tensor y(a.dtype(), y_shape);
    dispatch_gemm_type(a.dtype(), "MatMul", [&](auto tag) {
      using T = decltype(tag);
      compute<T>(a.data<T>(), b.data<T>(), y.data<T>(), M, N, K, batch_a, batch_b, batch);
    });
    out[0] = std::move(y);
  }

 private:
  template <typename T>
  static void compute(const T* a, const T* b, T* y, int64_t M, int64_t N, int64_t K, const Shape& batch_a,
                      const Shape& batch_b, const Shape& batch) {
    const int64_t nb = numel(batch);
    if (nb == 0 || M == 0 || N == 0) return;
    if (batch_b.empty() || nb == 1) {
      // B is one matrix shared by every batch entry of A (which is then contiguous and unbroadcast): stack
      // A's matrices into one (nb*M x K) product.
      return gemm_parallel<T>(false, false, nb * M, N, K, T(1), a, K, b, N, y, N, false);
    }
    const std::vector<int64_t> sa = broadcast_strides(batch_a, batch), sb = broadcast_strides(batch_b, batch);
    const std::vector<int64_t> extents = batch;
    parallel_for(
        0, nb,
        [&](int64_t i) {
          int64_t oa = 0, ob = 0;
          for (size_t d = extents.size(), r = static_cast<size_t>(i); d-- > 0;) {
            const int64_t idx = static_cast<int64_t>(r) % extents[d];
            r /= static_cast<size_t>(extents[d]);
            oa += idx * sa[d];
            ob += idx * sb[d];
          }
          gemm<T>(false, false, M, N, K, T(1), a + oa * M * K, K, b + ob * K * N, N, y + i * M * N, N, false);
        },
        M * N * std::max<int64_t>(K, 1));
  }
};

std::unique_ptr<Kernel> make_matmul(const KernelInit& init) {
  const Node& n = init.node;
  if (n.num_inputs() != 2 || !n.has_input(0) || !n.has_input(1)) init.invalid("expects inputs A and B");
  if (n.outputs.size() != 1) init.invalid("expects 1 output");
  return std::make_unique<MatMulKernel>();
}

}  // namespace

void register_matmul_ops(OpRegistry& r) {
  // Gemm: 1 and 6 have the `broadcast` attribute; 7 broadcasts C always; 9 and 13 add types; 11 makes C
  // optional. One factory handles them all (it reads the opset).
  r.add("", "Gemm", 1, 21, make_gemm);
  // MatMul: 1, 9 and 13 differ only in the types allowed.
  r.add("", "MatMul", 1, 21, make_matmul);
}

}  // namespace qs
