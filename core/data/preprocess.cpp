#include "core/data/preprocess.h"

#include <algorithm>
#include <cmath>

#include "core/common/error.h"

namespace qs {

namespace {

std::string size_str(int64_t h, int64_t w) { return std::to_string(h) + "x" + std::to_string(w); }

bool convertible(int64_t from, int64_t to) {
  if (from == to) return true;
  const int64_t f = channels_without_alpha(from);
  return f == to || (f == 1 && to == 3) || (f == 3 && to == 1);
}

// Expands a mean/std list to one value per channel.
std::vector<float> per_channel(const std::vector<float>& v, int64_t channels, const char* what) {
  if (v.size() == 1) return std::vector<float>(static_cast<size_t>(channels), v[0]);
  if (static_cast<int64_t>(v.size()) != channels)
    throw Error(std::string("preprocessing: ") + what + " has " + std::to_string(v.size()) +
                " values but the model input has " + std::to_string(channels) +
                " channels (give one value, or one per channel)");
  return v;
}

// The size an image of h × w has after the resize step.
std::pair<int64_t, int64_t> resized_size(const PreparedPreprocess& p, int64_t h, int64_t w) {
  switch (p.resize) {
    case ResizeMode::kStretch:
      return {p.resize_height, p.resize_width};
    case ResizeMode::kShorterSide: {
      // As torchvision's Resize(int): the longer side is truncated, not rounded.
      const int64_t s = p.resize_shorter;
      if (h <= w)
        return {s, static_cast<int64_t>(static_cast<double>(s) * static_cast<double>(w) /
                                        static_cast<double>(h))};
      return {static_cast<int64_t>(static_cast<double>(s) * static_cast<double>(h) / static_cast<double>(w)),
              s};
    }
    case ResizeMode::kNone:
      break;
  }
  return {h, w};
}

}  // namespace

int64_t channels_without_alpha(int64_t channels) {
  if (channels == 2) return 1;
  if (channels == 4) return 3;
  return channels;
}

RawImage convert_channels(const RawImage& in, int64_t channels) {
  if (in.channels == channels) return in;
  if (!convertible(in.channels, channels))
    throw Error("cannot convert " + std::to_string(in.channels) + "-channel data to " +
                std::to_string(channels) + " channels (supported: gray <-> RGB, dropping an alpha channel)");
  const int64_t src = channels_without_alpha(in.channels);  // alpha is the last channel: ignore it
  const int64_t plane = in.height * in.width;
  RawImage out(channels, in.height, in.width);
  if (src == channels) {
    std::copy(in.data.begin(), in.data.begin() + channels * plane, out.data.begin());
  } else if (src == 1) {  // gray → RGB
    for (int64_t c = 0; c < 3; ++c)
      std::copy(in.data.begin(), in.data.begin() + plane, out.data.begin() + c * plane);
  } else {  // RGB → gray, BT.601 luma
    const float* r = in.data.data();
    const float* g = r + plane;
    const float* b = g + plane;
    for (int64_t i = 0; i < plane; ++i)
      out.data[static_cast<size_t>(i)] = 0.299f * r[i] + 0.587f * g[i] + 0.114f * b[i];
  }
  return out;
}

RawImage resize_bilinear(const RawImage& in, int64_t height, int64_t width) {
  if (height <= 0 || width <= 0 || in.height <= 0 || in.width <= 0)
    throw Error("resize: cannot resize " + size_str(in.height, in.width) + " to " + size_str(height, width));
  // Per output row/column: the two source indices and the weight of the second.
  struct Tap {
    int64_t i0, i1;
    float w1;
  };
  auto taps = [](int64_t in_n, int64_t out_n) {
    std::vector<Tap> t(static_cast<size_t>(out_n));
    const double ratio = static_cast<double>(in_n) / static_cast<double>(out_n);
    for (int64_t o = 0; o < out_n; ++o) {
      const double s = std::max(0.0, (static_cast<double>(o) + 0.5) * ratio - 0.5);
      const auto i0 = std::min(static_cast<int64_t>(s), in_n - 1);
      const int64_t i1 = std::min(i0 + 1, in_n - 1);
      t[static_cast<size_t>(o)] = {i0, i1, static_cast<float>(s - static_cast<double>(i0))};
    }
    return t;
  };
  const std::vector<Tap> ty = taps(in.height, height), tx = taps(in.width, width);
  RawImage out(in.channels, height, width);
  for (int64_t c = 0; c < in.channels; ++c)
    for (int64_t y = 0; y < height; ++y) {
      const Tap& a = ty[static_cast<size_t>(y)];
      for (int64_t x = 0; x < width; ++x) {
        const Tap& b = tx[static_cast<size_t>(x)];
        const float top = in.at(c, a.i0, b.i0) * (1 - b.w1) + in.at(c, a.i0, b.i1) * b.w1;
        const float bottom = in.at(c, a.i1, b.i0) * (1 - b.w1) + in.at(c, a.i1, b.i1) * b.w1;
        out.at(c, y, x) = top * (1 - a.w1) + bottom * a.w1;
      }
    }
  return out;
}

RawImage center_crop(const RawImage& in, int64_t height, int64_t width) {
  if (height > in.height || width > in.width || height <= 0 || width <= 0)
    throw Error("center crop: cannot crop " + size_str(height, width) + " from a " +
                size_str(in.height, in.width) + " image");
  // std::nearbyint rounds ties to even in the default rounding mode, like Python's round().
  const auto top = static_cast<int64_t>(std::nearbyint(static_cast<double>(in.height - height) / 2.0));
  const auto left = static_cast<int64_t>(std::nearbyint(static_cast<double>(in.width - width) / 2.0));
  RawImage out(in.channels, height, width);
  for (int64_t c = 0; c < in.channels; ++c)
    for (int64_t y = 0; y < height; ++y)
      for (int64_t x = 0; x < width; ++x) out.at(c, y, x) = in.at(c, y + top, x + left);
  return out;
}

PreparedPreprocess prepare_preprocess(const Preprocess& pre, int64_t source_channels, int64_t source_height,
                                      int64_t source_width, bool source_8bit) {
  if (pre.channels < 0 || pre.height < 0 || pre.width < 0 || pre.resize_height < 0 || pre.resize_width < 0 ||
      pre.resize_shorter < 0)
    throw Error("preprocessing: sizes must not be negative");
  PreparedPreprocess p;
  p.channels = pre.channels ? pre.channels : channels_without_alpha(source_channels);
  if (!convertible(source_channels, p.channels))
    throw Error("preprocessing: the data has " + std::to_string(source_channels) +
                " channels and the model input has " + std::to_string(p.channels) +
                "; only gray <-> RGB conversions (and dropping alpha) are supported");
  p.resize = pre.resize;
  p.center_crop = pre.center_crop || pre.resize == ResizeMode::kShorterSide;

  // Output size: given, else the stretch size, else the source's.
  const bool stretch = pre.resize == ResizeMode::kStretch;
  p.height = pre.height ? pre.height : (stretch && pre.resize_height ? pre.resize_height : source_height);
  p.width = pre.width ? pre.width : (stretch && pre.resize_width ? pre.resize_width : source_width);
  if (p.height <= 0 || p.width <= 0)
    throw Error("preprocessing: the output size " + size_str(p.height, p.width) + " is empty");

  if (stretch) {
    p.resize_height = pre.resize_height ? pre.resize_height : p.height;
    p.resize_width = pre.resize_width ? pre.resize_width : p.width;
    if (p.resize_height != p.height || p.resize_width != p.width) {
      if (!p.center_crop)
        throw Error("preprocessing: resizing to " + size_str(p.resize_height, p.resize_width) +
                    " does not give the model's " + size_str(p.height, p.width) + " without a center crop");
      if (p.resize_height < p.height || p.resize_width < p.width)
        throw Error("preprocessing: cannot center-crop " + size_str(p.height, p.width) +
                    " from images resized to " + size_str(p.resize_height, p.resize_width));
    }
  } else if (pre.resize == ResizeMode::kShorterSide) {
    p.resize_shorter = pre.resize_shorter ? pre.resize_shorter : std::min(p.height, p.width);
    if (p.resize_shorter < std::min(p.height, p.width))
      throw Error("preprocessing: resizing the shorter side to " + std::to_string(p.resize_shorter) +
                  " is too small to crop " + size_str(p.height, p.width));
  }

  p.bgr = pre.channel_order == ChannelOrder::kBGR && p.channels == 3;
  p.scale = pre.scale ? *pre.scale : (source_8bit ? 1.f / 255.f : 1.f);
  if (!std::isfinite(p.scale)) throw Error("preprocessing: scale is not finite");
  p.mean = per_channel(pre.mean, p.channels, "mean");
  p.stddev = per_channel(pre.stddev, p.channels, "std");
  for (float s : p.stddev)
    if (s == 0.f || !std::isfinite(s)) throw Error("preprocessing: std values must be finite and non-zero");
  return p;
}

void preprocess_image(const RawImage& in, const PreparedPreprocess& p, float* out, const std::string& name) {
  if (!convertible(in.channels, p.channels))
    throw Error(name + ": has " + std::to_string(in.channels) +
                " channels, which cannot be converted to the model's " + std::to_string(p.channels));
  // Gray → RGB replication commutes with resizing and cropping, so it is done last on the smaller image;
  // reductions (alpha, RGB → gray) are done first for the same reason.
  const bool expand = channels_without_alpha(in.channels) == 1 && p.channels == 3;
  RawImage img = convert_channels(in, expand ? 1 : p.channels);

  const auto [rh, rw] = resized_size(p, img.height, img.width);
  if (rh <= 0 || rw <= 0)
    throw Error(name + ": a " + size_str(img.height, img.width) + " image cannot be resized to " +
                size_str(rh, rw));
  if (rh != img.height || rw != img.width) img = resize_bilinear(img, rh, rw);
  if (img.height != p.height || img.width != p.width) {
    if (!p.center_crop || img.height < p.height || img.width < p.width) {
      const bool resized = p.resize != ResizeMode::kNone;
      throw Error(name + ": image is " + size_str(img.height, img.width) +
                  (resized ? " after resizing" : "") + " but the model input is " +
                  size_str(p.height, p.width) +
                  (resized ? "" : "; set a resize (or a center crop for larger images)"));
    }
    img = center_crop(img, p.height, p.width);
  }
  if (expand) img = convert_channels(img, 3);

  const int64_t plane = p.height * p.width;
  for (int64_t c = 0; c < p.channels; ++c) {
    const int64_t src_c = p.bgr ? 2 - c : c;
    const float* s = img.data.data() + src_c * plane;
    float* d = out + c * plane;
    const float mean = p.mean[static_cast<size_t>(c)], sd = p.stddev[static_cast<size_t>(c)];
    for (int64_t i = 0; i < plane; ++i) d[i] = (s[i] * p.scale - mean) / sd;
  }
}

}  // namespace qs
