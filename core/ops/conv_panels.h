// Writing rows of a GEMM operand into the packed panel layout of Eigen's GEBP kernel: row value j of a
// run lands at panel (first + j) / panel_rows, offset (first + j) % panel_rows, panels panel_stride
// floats apart. With panel_rows larger than any index the layout is a plain array.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>

namespace qs {

struct PanelDest {
  float* base;
  int64_t first;
  int64_t panel_rows;
  int64_t panel_stride;
};

// dst[0, n) = src[0, n) for short runs: whole packets plus one overlapping packet for the tail, instead
// of a library call or a peeled loop.
inline void copy_run(float* dst, const float* src, int64_t n) {
  using Packet = Eigen::internal::packet_traits<float>::type;
  constexpr int64_t kPacket = Eigen::internal::packet_traits<float>::size;
  if (n < kPacket) {
    for (int64_t j = 0; j < n; ++j) dst[j] = src[j];
    return;
  }
  int64_t j = 0;
  for (; j + kPacket <= n; j += kPacket)
    Eigen::internal::pstoreu(dst + j, Eigen::internal::ploadu<Packet>(src + j));
  if (j < n) Eigen::internal::pstoreu(dst + n - kPacket, Eigen::internal::ploadu<Packet>(src + n - kPacket));
}

// Sequential writer into a PanelDest: splits runs at panel boundaries, tracking the panel and offset as
// it goes (one division per writer, none per run). Reads exactly the values it is given.
class PanelWriter {
 public:
  explicit PanelWriter(const PanelDest& d)
      : d_(d), panel_(d.first / d.panel_rows), offset_(d.first % d.panel_rows) {}

  void zeros(int64_t n) {
    while (n > 0) {
      const int64_t len = std::min(n, d_.panel_rows - offset_);
      std::fill_n(here(), len, 0.f);
      advance(len);
      n -= len;
    }
  }
  void copy(const float* src, int64_t n) {
    while (n > 0) {
      const int64_t len = std::min(n, d_.panel_rows - offset_);
      copy_run(here(), src, len);
      advance(len);
      src += len;
      n -= len;
    }
  }
  // Values image[base + j*step] for j in [0, n); each such index is inside the image.
  void gather(const float* image, int64_t base, int64_t step, int64_t n) {
    while (n > 0) {
      const int64_t len = std::min(n, d_.panel_rows - offset_);
      float* dst = here();
      for (int64_t j = 0; j < len; ++j) dst[j] = image[base + j * step];
      advance(len);
      base += len * step;
      n -= len;
    }
  }

 private:
  float* here() const { return d_.base + panel_ * d_.panel_stride + offset_; }
  void advance(int64_t len) {
    offset_ += len;
    if (offset_ == d_.panel_rows) {
      offset_ = 0;
      ++panel_;
    }
  }

  const PanelDest& d_;
  int64_t panel_, offset_;
};

}  // namespace qs
