#include "core/algo/obc/hessian.h"

#include <algorithm>
#include <limits>

#include "core/common/error.h"
#include "core/common/parallel.h"
#include "core/ops/conv_im2col.h"
#include "core/ops/gemm_eigen.h"

namespace qs::obc {

namespace {

// Columns per chunk: bounds the buffer (dim × chunk doubles) while keeping the tile GEMMs long enough.
constexpr int64_t kChunkColumns = 2048;
// Hessian tiles: rows and columns of one independent GEMM.
constexpr int64_t kTile = 128;

}  // namespace

HessianAccumulator::HessianAccumulator(ObcLayer layer) : l_(std::move(layer)) {
  acc_.assign(static_cast<size_t>(l_.groups),
              std::vector<double>(static_cast<size_t>(l_.cols * l_.cols), 0.0));
}

void HessianAccumulator::add_columns(int64_t group, const double* x, int64_t n) {
  if (n <= 0) return;
  const int64_t d = l_.cols;
  const int64_t tiles = (d + kTile - 1) / kTile;
  std::vector<std::pair<int64_t, int64_t>> tasks;
  for (int64_t i = 0; i < tiles; ++i)
    for (int64_t j = 0; j <= i; ++j) tasks.emplace_back(i, j);
  double* acc = acc_[static_cast<size_t>(group)].data();
  parallel_for(
      0, static_cast<int64_t>(tasks.size()),
      [&](int64_t t) {
        const auto [i, j] = tasks[static_cast<size_t>(t)];
        const int64_t r0 = i * kTile, c0 = j * kTile;
        const int64_t rn = std::min(kTile, d - r0), cn = std::min(kTile, d - c0);
        gemm<double>(false, true, rn, cn, n, 1.0, x + r0 * n, n, x + c0 * n, n, acc + r0 * d + c0, d, true);
      },
      kTile * kTile * n);
}

void HessianAccumulator::add_conv(const Tensor& x) {
  const std::string where = l_.describe();
  ConvGeometry g;
  try {
    g = conv_geometry(l_.conv, x.shape(), l_.weight_shape, nullptr);
  } catch (const Error& e) {
    throw Error(where + ": input " + x.str() + ": " + e.what());
  }
  const PatchMap map = conv_patch_map(g);
  const int64_t P = g.out_size(), in_size = g.in_size(), C = g.in_channels, Cg = C / g.group;
  const int64_t d = l_.cols;
  if (Cg * g.kernel_size() != d) throw Error(where + ": input " + x.str() + " does not match the weight");
  const float* xp = x.data<float>();
  const int64_t per_chunk = std::max<int64_t>(1, kChunkColumns / std::max<int64_t>(P, 1));
  for (int64_t s0 = 0; s0 < g.batch; s0 += per_chunk) {
    const int64_t ns = std::min(per_chunk, g.batch - s0), n = ns * P;
    fcols_.resize(static_cast<size_t>(d * n));
    cols_.resize(static_cast<size_t>(d * n));
    for (int64_t grp = 0; grp < g.group; ++grp) {
      parallel_for(
          0, d,
          [&](int64_t k) {
            for (int64_t s = 0; s < ns; ++s) {
              const float* image = xp + ((s0 + s) * C + grp * Cg) * in_size;
              PanelDest dst{fcols_.data() + k * n + s * P, 0, std::numeric_limits<int64_t>::max(), 0};
              im2col_row(map, image, k, 0, P, dst);
            }
          },
          n);
      std::copy(fcols_.begin(), fcols_.begin() + d * n, cols_.begin());
      add_columns(grp, cols_.data(), n);
    }
    n_ += n;
  }
}

void HessianAccumulator::add(const Tensor& x) {
  const std::string where = l_.describe();
  if (x.dtype() != DType::Float32) throw Error(where + ": input is " + x.str() + ", not float32");
  if (l_.kind == LayerKind::Conv) return add_conv(x);
  const int64_t d = l_.cols;
  const float* xp = x.data<float>();
  if (l_.kind == LayerKind::MatMulLeft) {
    // Y = W·X: every column of every [K, N] matrix of X is an input vector.
    if (x.rank() < 1 || (x.rank() == 1 ? x.dim(0) : x.dim(-2)) != d)
      throw Error(where + ": input " + x.str() + " does not have " + std::to_string(d) + " rows");
    const int64_t N = x.rank() == 1 ? 1 : x.dim(-1);
    const int64_t batches = N == 0 ? 0 : x.numel() / (d * N);
    for (int64_t b = 0; b < batches; ++b)
      for (int64_t n0 = 0; n0 < N; n0 += kChunkColumns) {
        const int64_t n = std::min(kChunkColumns, N - n0);
        cols_.resize(static_cast<size_t>(d * n));
        for (int64_t k = 0; k < d; ++k)
          for (int64_t j = 0; j < n; ++j)
            cols_[static_cast<size_t>(k * n + j)] = xp[(b * d + k) * N + n0 + j];
        add_columns(0, cols_.data(), n);
        n_ += n;
      }
    return;
  }
  // Gemm / MatMul with the weight on the right: every row of A (as [rows, K]) is an input vector; Gemm with
  // transA = 1 holds A as [K, rows].
  const bool by_column = l_.kind == LayerKind::Gemm && l_.gemm_trans_a;
  int64_t rows = 0;
  if (l_.kind == LayerKind::Gemm) {
    if (x.rank() != 2 || x.dim(by_column ? 0 : 1) != d)
      throw Error(where + ": input " + x.str() + " does not fit a weight of " + std::to_string(d) +
                  " inputs");
    rows = x.dim(by_column ? 1 : 0);
  } else {
    if (x.rank() < 1 || x.dim(-1) != d)
      throw Error(where + ": input " + x.str() + " does not end in " + std::to_string(d));
    rows = x.numel() / d;
  }
  for (int64_t r0 = 0; r0 < rows; r0 += kChunkColumns) {
    const int64_t n = std::min(kChunkColumns, rows - r0);
    cols_.resize(static_cast<size_t>(d * n));
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < d; ++k)
        cols_[static_cast<size_t>(k * n + j)] = by_column ? xp[k * rows + r0 + j] : xp[(r0 + j) * d + k];
    add_columns(0, cols_.data(), n);
    n_ += n;
  }
}

Eigen::MatrixXd HessianAccumulator::hessian(int64_t group) const {
  if (n_ == 0) throw Error(l_.describe() + ": no calibration input was seen, so there is no Hessian");
  if (group < 0 || group >= l_.groups) throw Error(l_.describe() + ": no group " + std::to_string(group));
  const int64_t d = l_.cols;
  const double* acc = acc_[static_cast<size_t>(group)].data();
  const double f = 2.0 / static_cast<double>(n_);
  Eigen::MatrixXd h(d, d);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j <= i; ++j) h(i, j) = h(j, i) = f * acc[i * d + j];
  return h;
}

}  // namespace qs::obc
