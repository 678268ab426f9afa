#include "core/ops/conv_gemm.h"

#include <Eigen/Core>
#include <algorithm>

#include "core/common/parallel.h"
#include "core/ops/conv_panels.h"
#include "core/ops/conv_phase.h"
#include "core/ops/gemm_eigen.h"

namespace qs {

namespace {

// Eigen's GEBP kernel on float computes C (rows x cols, column-major) += A * B with A packed in panels of
// mr rows ([panel][k][mr]) and B packed by gemm_pack_rhs. Here rows are output positions, cols output
// channels of a group, depth the im2col rows (C/group x kernel offsets).
using Index = Eigen::Index;
using Traits = Eigen::internal::gebp_traits<float, float>;
constexpr int64_t kMr = Traits::mr;
constexpr int64_t kNr = Traits::nr;
using ResMapper = Eigen::internal::blas_data_mapper<float, Index, Eigen::ColMajor, Eigen::Unaligned, 1>;
using RhsMapper = Eigen::internal::const_blas_data_mapper<float, Index, Eigen::ColMajor>;
using Gebp = Eigen::internal::gebp_kernel<float, float, Index, ResMapper, kMr, kNr, false, false>;
using PackRhs = Eigen::internal::gemm_pack_rhs<float, Index, RhsMapper, kNr, Eigen::ColMajor, false, false>;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t m) { return ceil_div(a, m) * m; }

// Depth chunks of at most ~320 so an A micro-panel (mr x chunk floats) stays in L1. A function of the
// depth alone: the order in which a result's products are summed depends on nothing else.
std::vector<int64_t> depth_chunks(int64_t Kg) {
  constexpr int64_t kMaxChunk = 320;
  std::vector<int64_t> begin;
  if (Kg > 0) {
    const int64_t kc = round_up(ceil_div(Kg, ceil_div(Kg, kMaxChunk)), 8);
    for (int64_t k = 0; k < Kg; k += kc) begin.push_back(k);
  }
  begin.push_back(Kg);
  return begin;
}

}  // namespace

PackedConvWeights::PackedConvWeights(const float* w, int64_t groups, int64_t Mg, int64_t Kg)
    : groups_(groups), Mg_(Mg), Kg_(Kg), chunk_begin_(depth_chunks(Kg)) {
  data_ = Tensor(DType::Float32, {std::max<int64_t>(1, groups * Mg * Kg)});
  float* out = data_.data<float>();
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t c = 0; c < chunks(); ++c) {
      // W_g (Mg x Kg row-major) is the column-major Kg x Mg right-hand side.
      const RhsMapper rhs(w + g * Mg * Kg + chunk_begin(c), Kg);
      PackRhs()(out + g * Mg * Kg + chunk_begin(c) * Mg, rhs, chunk_begin(c + 1) - chunk_begin(c), Mg);
    }
}

namespace {

// Rows per work item: packed A (rows x Kg) within ~256 KiB so it stays in L2 (at most 512 rows), and
// enough items (up to 64, an even count) to keep threads busy when there is work for them. Results do
// not depend on this choice (see the header), only speed does.
int64_t item_rows(int64_t total_rows, int64_t Mg, int64_t Kg) {
  const int64_t K = std::max<int64_t>(Kg, 1);
  const int64_t cache_rows = std::clamp<int64_t>((int64_t{1} << 16) / K / kMr * kMr, kMr, 512);
  const int64_t want = std::min<int64_t>(64, work_split(total_rows * Mg * K, int64_t{1} << 19));
  return std::clamp<int64_t>(round_up(ceil_div(total_rows, want), kMr), kMr, cache_rows);
}

// The GEMM of one item once A is packed: out (R x mc, column-major) = A * (rows m0 .. m0+mc of W_g)^T,
// chunk by chunk. m0 is a multiple of the packed panel width nr.
void multiply(const PackedConvWeights& w, int64_t gi, int64_t m0, int64_t mc, const float* A, int64_t R,
              float* out) {
  std::fill(out, out + R * mc, 0.f);
  for (int64_t c = 0; c < w.chunks(); ++c) {
    const int64_t kc = w.chunk_begin(c + 1) - w.chunk_begin(c);
    Gebp()(ResMapper(out, R), A + R * w.chunk_begin(c), w.block(gi, c) + m0 * kc, R, kc, mc, 1.f);
  }
}

// Where row k of the im2col matrix goes in A: the panels of its depth chunk. `chunk` advances with k.
PanelDest row_dest(const PackedConvWeights& w, float* A, int64_t R, int64_t k, int64_t& chunk) {
  while (k >= w.chunk_begin(chunk + 1)) ++chunk;
  const int64_t kc = w.chunk_begin(chunk + 1) - w.chunk_begin(chunk);
  return {A + R * w.chunk_begin(chunk) + (k - w.chunk_begin(chunk)) * kMr, 0, kMr, kMr * kc};
}

// 1-D and 2-D: each item covers whole output rows of one or more images. Its input rows are copied into
// phase planes (core/ops/conv_phase.h): output (oh, ow) becomes GEMM row oh*pitch + ow and every
// im2col row is a contiguous slice of them, so packing is plain copies. Columns ow >= OW of each pitch
// are computed and dropped.
void planar(const ConvGeometry& g, const PackedConvWeights& w, const float* x, const float* bias, float* y,
            const ConvClamp* clamp) {
  const bool two = g.spatial_rank() == 2;
  const int64_t N = g.batch, C = g.in_channels, M = g.out_channels, G = g.group;
  const int64_t Cg = C / G, Mg = M / G, Kg = w.depth();
  const int64_t H = two ? g.in[0] : 1, W = g.in.back(), OH = two ? g.out[0] : 1, OW = g.out.back();
  const int64_t KH = two ? g.kernel[0] : 1, KW = g.kernel.back();
  // 1x1, stride 1, unpadded: X's rows are the slices already.
  const bool identity = KH == 1 && KW == 1 && OW == W && OH == H && g.strides.back() == 1 &&
                        g.pad_begin.back() == 0 && (!two || (g.strides[0] == 1 && g.pad_begin[0] == 0));
  const PhasePlanes phases(g);
  const int64_t pitch = identity ? W : phases.pitch();

  // Im2col row k = (c, kh, kw): channel c, tap (kh, kw) of the phase planes (for identity: plane c of X).
  struct Row {
    int64_t c;
    PhasePlanes::Tap tap;
  };
  std::vector<Row> taps;
  taps.reserve(static_cast<size_t>(Kg));
  for (int64_t c = 0; c < Cg; ++c)
    for (int64_t kh = 0; kh < KH; ++kh)
      for (int64_t kw = 0; kw < KW; ++kw) taps.push_back({c, phases.tap(kh, kw)});

  // Items: runs of output rows (of one or more images) x runs of output channels. A run of rows keeps >= 4
  // panels when it can (the last panel is padded), so small images are split by channels instead, at
  // most in two (each channel run repeats the packing). Results do not depend on this choice.
  const int64_t units = N * OH;  // output rows of all images
  const int64_t total_rows = units * pitch, K = std::max<int64_t>(Kg, 1);
  const int64_t want = std::min<int64_t>(64, work_split(total_rows * Mg * K, int64_t{1} << 19));
  const int64_t cache_rows = std::clamp<int64_t>((int64_t{1} << 16) / K / kMr * kMr, kMr, 512);
  const int64_t row_runs = std::max(ceil_div(total_rows, cache_rows),
                                    std::min(want, std::max<int64_t>(1, total_rows / (4 * kMr))));
  // Output rows per item: at most ceil(units / row_runs), and among the counts down to half of that the
  // one whose rows best fill whole panels.
  const int64_t U_max = ceil_div(units, row_runs);
  auto fill = [&](int64_t u) { return double(u * pitch) / double(round_up(u * pitch, kMr)); };
  int64_t U = U_max;
  for (int64_t u = U_max - 1; u >= std::max<int64_t>(1, (U_max + 1) / 2); --u)
    if (fill(u) > fill(U) + 1e-9) U = u;
  const int64_t per_group_rows = ceil_div(units, U);
  const int64_t split = per_group_rows == 1 && want > 1 && Mg >= 32 ? 2 : 1;
  const int64_t mt = std::min(Mg, round_up(ceil_div(Mg, split), kNr));  // channels per item
  const int64_t per_group_channels = ceil_div(Mg, mt);
  const int64_t per_group = per_group_rows * per_group_channels;
  parallel_for(
      0, G * per_group,
      [&](int64_t item) {
        const int64_t gi = item / per_group, t = item % per_group;
        const int64_t u0 = t / per_group_channels * U, u1 = std::min(units, u0 + U);
        const int64_t m0 = t % per_group_channels * mt, mc = std::min(Mg, m0 + mt) - m0;
        const int64_t valid = (u1 - u0) * pitch, R = round_up(valid, kMr);
        // Runs of output rows, one per image: image n, rows [oh0, oh1).
        struct Run {
          int64_t n, oh0, oh1;
          const float* planes;  // phase planes of its Cg channels (or X itself when identity)
          int64_t plane_rows;   // rows of one phase plane
        };
        Run runs[2 + 512];  // an item has at most 512 rows, so at most 512 images
        int64_t nruns = 0;
        for (int64_t u = u0; u < u1;) {
          const int64_t n = u / OH, oh0 = u % OH, oh1 = std::min(OH, oh0 + (u1 - u));
          runs[nruns++] = {n, oh0, oh1, nullptr, phases.rows_for(oh1 - oh0)};
          u += oh1 - oh0;
        }
        if (identity) {
          for (int64_t i = 0; i < nruns; ++i) runs[i].planes = x + (runs[i].n * C + gi * Cg) * H * W;
        } else {
          int64_t floats = pitch;  // a spare row: the last plane's dropped columns read past it
          for (int64_t i = 0; i < nruns; ++i)
            floats += Cg * phases.planes() * phases.plane_floats(runs[i].plane_rows);
          float* buf = thread_scratch_as<float>(ScratchSlot::kRow, static_cast<size_t>(floats));
          std::fill_n(buf + floats - pitch, pitch, 0.f);
          for (int64_t i = 0; i < nruns; ++i) {
            Run& r = runs[i];
            r.planes = buf;
            const float* xg = x + (r.n * C + gi * Cg) * H * W;
            for (int64_t c = 0; c < Cg; ++c, buf += phases.planes() * phases.plane_floats(r.plane_rows))
              phases.fill(xg + c * H * W, r.oh0, r.plane_rows, buf);
          }
        }

        float* A = thread_scratch_as<float>(ScratchSlot::kColumns,
                                            static_cast<size_t>(R * std::max<int64_t>(Kg, 1)));
        float* out = thread_scratch_as<float>(ScratchSlot::kOutput, static_cast<size_t>(R * mc));
        int64_t chunk = 0;
        for (int64_t k = 0; k < Kg; ++k) {
          const Row& t = taps[static_cast<size_t>(k)];
          const PanelDest dest = row_dest(w, A, R, k, chunk);
          PanelWriter wr(dest);
          for (int64_t i = 0; i < nruns; ++i) {
            const Run& r = runs[i];
            const int64_t offset = identity ? t.c * H * W + r.oh0 * W
                                            : t.c * phases.planes() * phases.plane_floats(r.plane_rows) +
                                                  t.tap.offset(phases, r.plane_rows);
            wr.copy(r.planes + offset, (r.oh1 - r.oh0) * pitch);
          }
          wr.zeros(R - valid);  // padding rows of the last panel: computed, never written out
        }
        multiply(w, gi, m0, mc, A, R, out);

        int64_t row = 0;
        for (int64_t i = 0; i < nruns; ++i) {
          const Run& r = runs[i];
          for (int64_t m = m0; m < m0 + mc; ++m) {
            const float bm = bias ? bias[gi * Mg + m] : 0.f;
            const float* src = out + (m - m0) * R + row;
            float* dst = y + ((r.n * M + gi * Mg + m) * OH + r.oh0) * OW;
            if (clamp) {
              const float lo = clamp->lo, hi = clamp->hi;
              for (int64_t oh = r.oh0; oh < r.oh1; ++oh, src += pitch, dst += OW)
                for (int64_t ow = 0; ow < OW; ++ow) dst[ow] = clamp_value(src[ow] + bm, lo, hi);
            } else {
              for (int64_t oh = r.oh0; oh < r.oh1; ++oh, src += pitch, dst += OW)
                for (int64_t ow = 0; ow < OW; ++ow) dst[ow] = src[ow] + bm;
            }
          }
          row += (r.oh1 - r.oh0) * pitch;
        }
      },
      U * pitch * mt * K);
}

// Any spatial rank (used for 3-D and above): items cover runs of positions of one or more images; im2col
// rows come from the generic walker.
void generic(const ConvGeometry& g, const PackedConvWeights& w, const float* x, const float* bias, float* y,
             const ConvClamp* clamp) {
  const int64_t N = g.batch, C = g.in_channels, M = g.out_channels, G = g.group;
  const int64_t Cg = C / G, Mg = M / G, Kg = w.depth(), P = g.out_size(), IS = g.in_size();
  const int64_t NP = N * P;  // rows of each group's GEMM: positions of all images
  const PatchMap map = conv_patch_map(g);
  const int64_t S = item_rows(NP, Mg, Kg);
  const int64_t per_group = ceil_div(NP, S);
  parallel_for(
      0, G * per_group,
      [&](int64_t item) {
        const int64_t gi = item / per_group, r0 = item % per_group * S, r1 = std::min(NP, r0 + S);
        const int64_t valid = r1 - r0, R = round_up(valid, kMr);
        float* A = thread_scratch_as<float>(ScratchSlot::kColumns,
                                            static_cast<size_t>(R * std::max<int64_t>(Kg, 1)));
        float* out = thread_scratch_as<float>(ScratchSlot::kOutput, static_cast<size_t>(R * Mg));
        int64_t chunk = 0;
        for (int64_t k = 0; k < Kg; ++k) {
          PanelDest dest = row_dest(w, A, R, k, chunk);
          for (int64_t r = r0; r < r1;) {  // one run of positions per image
            const int64_t n = r / P, q0 = r % P, q1 = std::min(P, q0 + (r1 - r));
            dest.first = r - r0;
            im2col_row(map, x + (n * C + gi * Cg) * IS, k, q0, q1, dest);
            r += q1 - q0;
          }
          dest.first = valid;
          PanelWriter(dest).zeros(R - valid);  // padding rows of the last panel: computed, never written out
        }
        multiply(w, gi, 0, Mg, A, R, out);
        for (int64_t r = r0; r < r1;) {
          const int64_t n = r / P, q0 = r % P, q1 = std::min(P, q0 + (r1 - r));
          for (int64_t m = 0; m < Mg; ++m) {
            const float bm = bias ? bias[gi * Mg + m] : 0.f;
            const float* src = out + m * R + (r - r0);
            float* dst = y + (n * M + gi * Mg + m) * P + q0;
            for (int64_t j = 0; j < q1 - q0; ++j) dst[j] = src[j] + bm;
            clamp_run(dst, q1 - q0, clamp);
          }
          r += q1 - q0;
        }
      },
      S * Mg * std::max<int64_t>(Kg, 1));
}

}  // namespace

void conv_gemm_forward(const ConvGeometry& g, const PackedConvWeights& w, const float* x, const float* bias,
                       float* y, const ConvClamp* clamp) {
  if (g.batch * g.out_size() == 0 || g.out_channels == 0) return;
  if (g.spatial_rank() <= 2)
    planar(g, w, x, bias, y, clamp);
  else
    generic(g, w, x, bias, y, clamp);
}

bool use_pointwise_gemm(const ConvGeometry& g) {
  for (size_t a = 0; a < g.kernel.size(); ++a)
    if (g.kernel[a] != 1 || g.strides[a] != 1 || g.pad_begin[a] != 0 || g.pad_end[a] != 0) return false;
  const int64_t P = g.out_size();
  return (round_up(P, kMr) - P) * 8 > P;
}

void conv_pointwise_forward(const ConvGeometry& g, const float* w, const float* x, const float* bias,
                            float* y, const ConvClamp* clamp) {
  const int64_t N = g.batch, C = g.in_channels, M = g.out_channels, G = g.group;
  const int64_t Cg = C / G, Mg = M / G, P = g.out_size();
  // Items: (image, group, run of output channels); channel runs (multiples of Eigen's 4-wide panels)
  // give threads work at batch 1 and depend only on the per-image shape.
  const int64_t runs = std::min(work_split(Mg * Cg * P, int64_t{1} << 17), std::max<int64_t>(1, Mg / 16));
  const int64_t mt = std::min(Mg, round_up(ceil_div(Mg, runs), kNr));
  const int64_t per_image_group = ceil_div(Mg, mt);
  parallel_for(
      0, N * G * per_image_group,
      [&](int64_t item) {
        const int64_t ng = item / per_image_group, m0 = item % per_image_group * mt;
        const int64_t n = ng / G, gi = ng % G, mc = std::min(Mg, m0 + mt) - m0;
        float* yb = y + (n * M + gi * Mg + m0) * P;
        for (int64_t m = 0; m < mc; ++m) std::fill_n(yb + m * P, P, bias ? bias[gi * Mg + m0 + m] : 0.f);
        gemm<float>(false, false, mc, P, Cg, 1.f, w + (gi * Mg + m0) * Cg, Cg, x + (n * C + gi * Cg) * P, P,
                    yb, P,
                    /*accumulate=*/true);
        clamp_run(yb, mc * P, clamp);
      },
      mt * Cg * P);
}

}  // namespace qs
