#include "core/ops/reference/conv_ref.h"

namespace qs::reference {

namespace {

// Row-major multi-index of flat index `i` in `extents`.
std::vector<int64_t> unravel(int64_t i, const std::vector<int64_t>& extents) {
  std::vector<int64_t> idx(extents.size());
  for (size_t a = extents.size(); a-- > 0;) {
    idx[a] = i % extents[a];
    i /= extents[a];
  }
  return idx;
}

// Flat index of `idx` in `extents`, or -1 when any coordinate is outside.
int64_t ravel(const std::vector<int64_t>& idx, const std::vector<int64_t>& extents) {
  int64_t flat = 0;
  for (size_t a = 0; a < extents.size(); ++a) {
    if (idx[a] < 0 || idx[a] >= extents[a]) return -1;
    flat = flat * extents[a] + idx[a];
  }
  return flat;
}

struct Dims {
  int64_t batch, channels;
  std::vector<int64_t> spatial;
  int64_t size() const { return numel(spatial); }
};
Dims dims_of(const Shape& s) { return {s[0], s[1], std::vector<int64_t>(s.begin() + 2, s.end())}; }

// Multi-indices of every kernel offset, computed once instead of in the innermost loop.
std::vector<std::vector<int64_t>> kernel_offsets(const Dims& w) {
  std::vector<std::vector<int64_t>> k(static_cast<size_t>(w.size()));
  for (int64_t i = 0; i < w.size(); ++i) k[static_cast<size_t>(i)] = unravel(i, w.spatial);
  return k;
}

}  // namespace

Tensor conv(const Tensor& x, const Tensor& w, const Tensor* b, const ConvParams& p, const Shape& y_shape) {
  const Dims X = dims_of(x.shape()), W = dims_of(w.shape()), Y = dims_of(y_shape);
  const size_t n = X.spatial.size();
  const int64_t Cg = X.channels / p.group, Mg = Y.channels / p.group;
  const float* xd = x.data<float>();
  const float* wd = w.data<float>();
  Tensor y(DType::Float32, y_shape);
  float* yd = y.data<float>();
  const auto koff = kernel_offsets(W);
  std::vector<int64_t> pos(n);
  for (int64_t bn = 0; bn < Y.batch; ++bn)
    for (int64_t m = 0; m < Y.channels; ++m)
      for (int64_t o = 0; o < Y.size(); ++o) {
        const std::vector<int64_t> oi = unravel(o, Y.spatial);
        double acc = b ? b->data<float>()[m] : 0.0;
        for (int64_t c = 0; c < Cg; ++c)
          for (int64_t k = 0; k < W.size(); ++k) {
            const std::vector<int64_t>& ki = koff[static_cast<size_t>(k)];
            for (size_t a = 0; a < n; ++a)
              pos[a] = oi[a] * p.strides[a] - p.pad_begin[a] + ki[a] * p.dilations[a];
            const int64_t xi = ravel(pos, X.spatial);
            if (xi < 0) continue;
            const int64_t xc = m / Mg * Cg + c;
            acc += double(xd[(bn * X.channels + xc) * X.size() + xi]) * wd[(m * Cg + c) * W.size() + k];
          }
        yd[(bn * Y.channels + m) * Y.size() + o] = static_cast<float>(acc);
      }
  return y;
}

Tensor conv_transpose(const Tensor& x, const Tensor& w, const Tensor* b, const ConvParams& p,
                      const Shape& y_shape) {
  const Dims X = dims_of(x.shape()), W = dims_of(w.shape()), Y = dims_of(y_shape);
  const size_t n = X.spatial.size();
  const int64_t Cg = X.channels / p.group, Mg = Y.channels / p.group;
  const float* xd = x.data<float>();
  const float* wd = w.data<float>();
  Tensor y(DType::Float32, y_shape);
  float* yd = y.data<float>();
  const auto koff = kernel_offsets(W);
  std::vector<int64_t> pos(n);
  for (int64_t bn = 0; bn < Y.batch; ++bn)
    for (int64_t m = 0; m < Y.channels; ++m)
      for (int64_t o = 0; o < Y.size(); ++o) {
        const std::vector<int64_t> oi = unravel(o, Y.spatial);
        double acc = b ? b->data<float>()[m] : 0.0;
        const int64_t g = m / Mg, mg = m % Mg;
        for (int64_t c = g * Cg; c < (g + 1) * Cg; ++c)
          for (int64_t k = 0; k < W.size(); ++k) {
            const std::vector<int64_t>& ki = koff[static_cast<size_t>(k)];
            bool hit = true;
            for (size_t a = 0; a < n && hit; ++a) {
              const int64_t t = oi[a] + p.pad_begin[a] - ki[a] * p.dilations[a];  // = i * stride
              hit = t >= 0 && t % p.strides[a] == 0;
              pos[a] = hit ? t / p.strides[a] : -1;
            }
            if (!hit) continue;
            const int64_t xi = ravel(pos, X.spatial);
            if (xi < 0) continue;
            acc += double(xd[(bn * X.channels + c) * X.size() + xi]) * wd[(c * Mg + mg) * W.size() + k];
          }
        yd[(bn * Y.channels + m) * Y.size() + o] = static_cast<float>(acc);
      }
  return y;
}

}  // namespace qs::reference
