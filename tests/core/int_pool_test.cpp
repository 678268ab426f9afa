// The AVX2 2-D MaxPool of 8-bit planes (core/int/pool_int_avx2.cpp) against a brute-force loop over every
// window tap, on random geometries: kernels 1-4, strides 1-3, dilations 1-2, explicit pads, ceil mode, row
// widths around the 16- and 32-byte vectors, int8 and uint8 data including the extremes, 1 and 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>

#include "core/common/error.h"
#include "core/common/parallel.h"
#include "core/int/pool_int.h"

namespace qs {
namespace {

template <typename T>
Tensor brute_max(const Tensor& x, const PoolPlan& p) {
  const int64_t H = p.in[0], W = p.in[1], OH = p.out[0], OW = p.out[1];
  Tensor y(x.dtype(), pool_output_shape(x.shape(), p));
  for (int64_t c = 0; c < p.planes; ++c)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        T best = std::numeric_limits<T>::lowest();
        for (int64_t kh = 0; kh < p.kernel[0]; ++kh)
          for (int64_t kw = 0; kw < p.kernel[1]; ++kw) {
            const int64_t ih = oh * p.strides[0] - p.pad_begin[0] + kh * p.dilations[0];
            const int64_t iw = ow * p.strides[1] - p.pad_begin[1] + kw * p.dilations[1];
            if (ih >= 0 && ih < H && iw >= 0 && iw < W)
              best = std::max(best, x.data<T>()[(c * H + ih) * W + iw]);
          }
        y.data<T>()[(c * OH + oh) * OW + ow] = best;
      }
  return y;
}

template <typename T>
void check_random_geometries(std::mt19937& rng, int cases) {
  const std::vector<int64_t> widths = {1, 2, 5, 7, 14, 15, 16, 17, 28, 31, 32, 33, 47, 64, 65};
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  int checked = 0;
  while (checked < cases) {
    WindowAttrs a;
    a.kernel = {pick(1, 4), pick(1, 4)};
    a.strides = {pick(1, 3), pick(1, 3)};
    a.dilations = {pick(1, 2), pick(1, 2)};
    a.pads.clear();
    for (int i = 0; i < 4; ++i) a.pads.push_back(pick(0, a.kernel[static_cast<size_t>(i % 2)] - 1));
    a.ceil_mode = pick(0, 1) == 1;
    const Shape xs = {pick(1, 3), pick(1, 5), widths[static_cast<size_t>(pick(0, 14))],
                      widths[static_cast<size_t>(pick(0, 14))]};
    PoolPlan p;
    try {
      p = pool_plan_for(a, xs, "case", false);
    } catch (const Error&) {
      continue;  // no output, or a window in the padding only: refused before any kernel runs
    }
    if (p.out[0] <= 0 || p.out[1] <= 0) continue;
    Tensor x(std::is_signed_v<T> ? DType::Int8 : DType::UInt8, xs);
    std::uniform_int_distribution<int> d(std::numeric_limits<T>::lowest(), std::numeric_limits<T>::max());
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int r = pick(0, 9);
      // Some planes of extremes: ties with the padding's value and saturated maxima.
      x.data<T>()[i] = static_cast<T>(r == 0   ? std::numeric_limits<T>::lowest()
                                      : r == 1 ? std::numeric_limits<T>::max()
                                               : d(rng));
    }
    Tensor y(x.dtype(), pool_output_shape(xs, p));
    ASSERT_TRUE(max_pool_8bit(IntIsa::Avx2, x, y, p));
    const Tensor want = brute_max<T>(x, p);
    for (int64_t i = 0; i < want.numel(); ++i)
      ASSERT_EQ(static_cast<int>(y.data<T>()[i]), static_cast<int>(want.data<T>()[i]))
          << "x " << shape_str(xs) << " kernel " << a.kernel[0] << "x" << a.kernel[1] << " strides "
          << a.strides[0] << "," << a.strides[1] << " dilations " << a.dilations[0] << "," << a.dilations[1]
          << " pads " << a.pads[0] << "," << a.pads[1] << "," << a.pads[2] << "," << a.pads[3] << " ceil "
          << a.ceil_mode << " at " << i;
    ++checked;
  }
}

TEST(IntMaxPool, Avx2PlaneKernelMatchesBruteForce) {
  if (!int_isa_available(IntIsa::Avx2)) GTEST_SKIP() << "this CPU has no AVX2";
  std::mt19937 rng(11);
  const int saved = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    check_random_geometries<int8_t>(rng, 150);
    check_random_geometries<uint8_t>(rng, 150);
  }
  set_num_threads(saved);
}

// The 2×2 stride-2 form (windows inside the input): every width and height 2-70 (odd ones drop their last
// column/row; ceil mode's partial windows take the general kernel), including the tensor's last bytes.
TEST(IntMaxPool, TwoByTwoStrideTwoMatchesBruteForce) {
  if (!int_isa_available(IntIsa::Avx2)) GTEST_SKIP() << "this CPU has no AVX2";
  std::mt19937 rng(12);
  std::uniform_int_distribution<int> byte(-128, 127);
  for (int64_t h = 2; h <= 70; h += 7)
    for (int64_t w = 2; w <= 70; ++w)
      for (bool ceil : {false, true}) {
        WindowAttrs a;
        a.kernel = {2, 2};
        a.strides = {2, 2};
        a.dilations = {1, 1};
        a.pads = {0, 0, 0, 0};
        a.ceil_mode = ceil;
        const Shape xs = {1 + w % 2, 3, h, w};
        const PoolPlan p = pool_plan_for(a, xs, "case", false);
        for (DType t : {DType::Int8, DType::UInt8}) {
          Tensor x(t, xs);
          for (int64_t i = 0; i < x.numel(); ++i)
            static_cast<int8_t*>(x.raw())[i] = static_cast<int8_t>(byte(rng));
          Tensor y(t, pool_output_shape(xs, p));
          ASSERT_TRUE(max_pool_8bit(IntIsa::Avx2, x, y, p));
          const Tensor want = t == DType::Int8 ? brute_max<int8_t>(x, p) : brute_max<uint8_t>(x, p);
          for (int64_t i = 0; i < want.numel(); ++i)
            ASSERT_EQ(static_cast<const uint8_t*>(y.raw())[i], static_cast<const uint8_t*>(want.raw())[i])
                << dtype_name(t) << " " << h << "x" << w << " ceil " << ceil << " at " << i;
        }
      }
}

TEST(IntMaxPool, DeclinesWhatItDoesNotHandle) {
  WindowAttrs a;
  a.kernel = {2};
  a.strides = {2};
  a.dilations = {1};
  a.pads = {0, 0};
  const Tensor x1(DType::Int8, {1, 1, 8});
  const PoolPlan p1 = pool_plan_for(a, x1.shape(), "1-D", false);
  Tensor y1(DType::Int8, pool_output_shape(x1.shape(), p1));
  EXPECT_FALSE(max_pool_8bit(IntIsa::Avx2, x1, y1, p1));  // 1-D
  a.kernel = {2, 2};
  a.strides = {2, 2};
  a.dilations = {1, 1};
  a.pads = {0, 0, 0, 0};
  const Tensor x2(DType::Int16, {1, 1, 4, 4});
  const PoolPlan p2 = pool_plan_for(a, x2.shape(), "int16", false);
  Tensor y2(DType::Int16, pool_output_shape(x2.shape(), p2));
  EXPECT_FALSE(max_pool_8bit(IntIsa::Avx2, x2, y2, p2));  // 16-bit storage
  EXPECT_FALSE(max_pool_8bit(IntIsa::Portable, Tensor(DType::Int8, {1, 1, 4, 4}), y2, p2));
}

}  // namespace
}  // namespace qs
