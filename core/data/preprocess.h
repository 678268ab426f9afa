// Preprocessing of images into a model's NCHW float32 input.
//
// Order of operations, per sample (the same for every source):
//   1. decode          source values as float, unscaled (0..255 for 8-bit images and IDX files)
//   2. to channels     drop alpha; gray → RGB by replication, RGB → gray with the BT.601 weights
//                      0.299 R + 0.587 G + 0.114 B (as PIL's convert("L") and OpenCV's RGB2GRAY)
//   3. resize          bilinear with the half-pixel convention (align_corners = false), no antialiasing:
//                      src = (dst + 0.5) * in / out - 0.5, clamped to the edge. This is ONNX Resize
//                      (linear, half_pixel), cv2.resize INTER_LINEAR and torch interpolate(antialias=False).
//   4. center crop     to the output height × width; the top-left corner is round((in - out) / 2) with
//                      ties to even, as torchvision's CenterCrop
//   5. channel order   RGB → BGR swaps channels 0 and 2 (3-channel outputs only)
//   6. normalize       y = (x * scale - mean[c]) / std[c], with c the OUTPUT channel (after step 5, so a
//                      BGR model's mean is given in BGR order)
// Values are not rounded to 8 bits after resizing, unlike pipelines that resize uint8 images with PIL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/data/image.h"

namespace qs {

enum class ResizeMode {
  kNone,         // images must already have the output size (or be center-cropped to it)
  kStretch,      // resize to resize_height × resize_width, ignoring the aspect ratio
  kShorterSide,  // resize the shorter side to resize_shorter keeping the aspect ratio, then center crop
};

// Channel order of 3-channel outputs (sources are RGB); 1-channel outputs ignore it.
enum class ChannelOrder { kRGB, kBGR };

struct Preprocess {
  // The output sample shape: the model's input C, H, W. 0 means "as the source".
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;

  ResizeMode resize = ResizeMode::kNone;
  int64_t resize_height = 0;   // kStretch; 0 means the output height
  int64_t resize_width = 0;    // kStretch; 0 means the output width
  int64_t resize_shorter = 0;  // kShorterSide; 0 means min(output height, output width)
  // Center-crop images larger than the output to it (always done after kShorterSide). Without it an image
  // whose size differs from the output is an error.
  bool center_crop = false;

  // Multiplies the source values; unset means 1/255 for 8-bit sources (images, IDX, uint8 .npy), else 1.
  std::optional<float> scale;
  // One value for every channel, or one per output channel.
  std::vector<float> mean{0.f};
  std::vector<float> stddev{1.f};
  ChannelOrder channel_order = ChannelOrder::kRGB;
};

// A Preprocess resolved against a source: every size known, mean/std expanded to one value per channel.
struct PreparedPreprocess {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  ResizeMode resize = ResizeMode::kNone;
  int64_t resize_height = 0;
  int64_t resize_width = 0;
  int64_t resize_shorter = 0;
  bool center_crop = false;
  bool bgr = false;
  float scale = 1.f;
  std::vector<float> mean;    // per output channel
  std::vector<float> stddev;  // per output channel
};

// Checks `pre` against a source of the given (first-sample) shape. `source_8bit` selects the default
// scale. Throws Error on an inconsistent configuration (mean/std counts not matching the channels, a zero
// std, a channel conversion that does not exist, a crop larger than the resized image, ...).
PreparedPreprocess prepare_preprocess(const Preprocess& pre, int64_t source_channels, int64_t source_height,
                                      int64_t source_width, bool source_8bit);

// Runs steps 2–6 on one decoded sample and writes channels × height × width floats to `out`.
// `name` identifies the sample in errors (a file path, "images.idx[17]").
void preprocess_image(const RawImage& in, const PreparedPreprocess& p, float* out, const std::string& name);

// The individual steps, exposed for tests and for callers composing their own pipeline.
int64_t channels_without_alpha(int64_t channels);  // 2 → 1, 4 → 3, others unchanged
RawImage convert_channels(const RawImage& in, int64_t channels);
RawImage resize_bilinear(const RawImage& in, int64_t height, int64_t width);
RawImage center_crop(const RawImage& in, int64_t height, int64_t width);

}  // namespace qs
