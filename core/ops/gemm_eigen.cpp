#include "core/ops/gemm_eigen.h"

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <new>

#include "core/common/parallel.h"

namespace qs {

namespace {

struct AlignedFree {
  void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t{64}); }
};
struct ScratchBuffer {
  std::unique_ptr<std::byte[], AlignedFree> data;
  size_t capacity = 0;
};

// Eigen's level-3 blocking (cache block sizes kc/mc/nc) with the packing buffers taken from per-thread
// scratch instead of a heap allocation per call. Block sizes are Eigen's single-thread choice for the
// problem size, so they depend only on (rows, cols, depth).
template <typename T>
class ScratchBlocking : public Eigen::internal::level3_blocking<T, T> {
 public:
  ScratchBlocking(Eigen::Index rows, Eigen::Index cols, Eigen::Index depth) {
    this->m_mc = rows;
    this->m_nc = cols;
    this->m_kc = depth;
    Eigen::internal::computeProductBlockingSizes<T, T, 1>(this->m_kc, this->m_mc, this->m_nc,
                                                          Eigen::Index{1});
    this->m_blockA =
        thread_scratch_as<T>(ScratchSlot::kGemmPackA, static_cast<size_t>(this->m_mc * this->m_kc));
    this->m_blockB =
        thread_scratch_as<T>(ScratchSlot::kGemmPackB, static_cast<size_t>(this->m_kc * this->m_nc));
  }
};

// Column-major kernel call: C^T (N×M) = op(B)^T (N×K) * op(A)^T (K×M), which is the row-major product.
template <typename T, int LhsOrder, int RhsOrder>
void gebp_call(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B, int64_t ldb,
               T* C, int64_t ldc) {
  using Product = Eigen::internal::general_matrix_matrix_product<Eigen::Index, T, LhsOrder, false, T,
                                                                 RhsOrder, false, Eigen::ColMajor, 1>;
  ScratchBlocking<T> blocking(N, M, K);
  Product::run(N, M, K, B, ldb, A, lda, C, 1, ldc, alpha, blocking, nullptr);
}

template <typename T>
using MatRM = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using MatCM = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
template <typename T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
using Outer = Eigen::OuterStride<>;
using Inner = Eigen::InnerStride<>;

// Matrix-vector products (M == 1 or N == 1) go to Eigen's GEMV, which never threads: the blocked kernel
// would pack the whole matrix to use it once.
template <typename T>
void gemv_row(bool trans_a, bool trans_b, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
              int64_t ldb, T* C) {
  // c (N) += alpha * op(B)^T (N×K) * a (K).
  Eigen::Map<Vec<T>> c(C, N);
  Eigen::Map<const Vec<T>, 0, Inner> a(A, K, Inner(trans_a ? lda : 1));
  if (trans_b) {
    Eigen::Map<const MatRM<T>, 0, Outer> bt(B, N, K, Outer(ldb));
    c.noalias() += alpha * (bt * a);
  } else {
    Eigen::Map<const MatCM<T>, 0, Outer> bt(B, N, K, Outer(ldb));
    c.noalias() += alpha * (bt * a);
  }
}

template <typename T>
void gemv_col(bool trans_a, bool trans_b, int64_t M, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
              int64_t ldb, T* C, int64_t ldc) {
  // c (M, stride ldc) += alpha * op(A) (M×K) * b (K).
  Eigen::Map<Vec<T>, 0, Inner> c(C, M, Inner(ldc));
  Eigen::Map<const Vec<T>, 0, Inner> b(B, K, Inner(trans_b ? 1 : ldb));
  if (trans_a) {
    Eigen::Map<const MatCM<T>, 0, Outer> a(A, M, K, Outer(lda));
    c.noalias() += alpha * (a * b);
  } else {
    Eigen::Map<const MatRM<T>, 0, Outer> a(A, M, K, Outer(lda));
    c.noalias() += alpha * (a * b);
  }
}

}  // namespace

void* thread_scratch(ScratchSlot slot, size_t bytes) {
  thread_local std::array<ScratchBuffer, static_cast<size_t>(ScratchSlot::kCount)> buffers;
  ScratchBuffer& b = buffers[static_cast<size_t>(slot)];
  if (b.capacity < bytes || !b.data) {
    // Grow by at least half so a slowly increasing sequence of requests does not reallocate each time.
    const size_t cap = std::max<size_t>({bytes, b.capacity + b.capacity / 2, 256});
    b.data.reset(static_cast<std::byte*>(::operator new[](cap, std::align_val_t{64})));
    b.capacity = cap;
  }
  return b.data.get();
}

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (!accumulate)
    for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, T(0));
  if (K <= 0) return;
  if (M == 1) return gemv_row(trans_a, trans_b, N, K, alpha, A, lda, B, ldb, C);
  if (N == 1) return gemv_col(trans_a, trans_b, M, K, alpha, A, lda, B, ldb, C, ldc);
  constexpr int RM = Eigen::RowMajor, CM = Eigen::ColMajor;
  // lhs = op(B)^T: B stored K×N row-major is N×K column-major; rhs = op(A)^T likewise.
  if (!trans_b && !trans_a) return gebp_call<T, CM, CM>(M, N, K, alpha, A, lda, B, ldb, C, ldc);
  if (!trans_b && trans_a) return gebp_call<T, CM, RM>(M, N, K, alpha, A, lda, B, ldb, C, ldc);
  if (trans_b && !trans_a) return gebp_call<T, RM, CM>(M, N, K, alpha, A, lda, B, ldb, C, ldc);
  return gebp_call<T, RM, RM>(M, N, K, alpha, A, lda, B, ldb, C, ldc);
}

template <typename T>
void gemm_parallel(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                   int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc, bool accumulate) {
  // An item should carry at least ~256K multiply-adds so packing and call overhead stay small, and span at
  // least 32 rows/columns so the re-packed operand is reused enough.
  constexpr int64_t kMinItemMacs = int64_t{1} << 18;
  constexpr int64_t kMinExtent = 32;
  const int64_t macs = M * N * std::max<int64_t>(K, 1);
  const bool split_rows = M >= N;
  const int64_t dim = split_rows ? M : N;
  const int64_t tiles = std::min(work_split(macs, kMinItemMacs), std::max<int64_t>(1, dim / kMinExtent));
  if (tiles <= 1) return gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, C, ldc, accumulate);
  const int64_t extent = (dim + tiles - 1) / tiles;
  const int64_t count = (dim + extent - 1) / extent;
  parallel_for(
      0, count,
      [&](int64_t t) {
        const int64_t b = t * extent, e = std::min(dim, b + extent);
        if (split_rows) {
          const T* a = trans_a ? A + b : A + b * lda;
          gemm(trans_a, trans_b, e - b, N, K, alpha, a, lda, B, ldb, C + b * ldc, ldc, accumulate);
        } else {
          const T* bb = trans_b ? B + b * ldb : B + b;
          gemm(trans_a, trans_b, M, e - b, K, alpha, A, lda, bb, ldb, C + b, ldc, accumulate);
        }
      },
      macs / count);
}

#define QS_INSTANTIATE_GEMM(T)                                                                              \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, int64_t, T*, \
                        int64_t, bool);                                                                     \
  template void gemm_parallel<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*,     \
                                 int64_t, T*, int64_t, bool);
QS_INSTANTIATE_GEMM(float)
QS_INSTANTIATE_GEMM(double)
QS_INSTANTIATE_GEMM(int32_t)
QS_INSTANTIATE_GEMM(int64_t)
#undef QS_INSTANTIATE_GEMM

}  // namespace qs
