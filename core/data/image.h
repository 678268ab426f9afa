// A decoded image as the data pipeline holds it between the source and preprocessing, and decoding of
// image files (PNG, JPEG, BMP, PGM/PPM) with stb_image.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qs {

// Planar (CHW) float pixels holding the source's values unscaled: 0..255 for 8-bit images and IDX, the
// stored numbers for .npy arrays. Colour images are RGB.
struct RawImage {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  std::vector<float> data;  // channels * height * width

  RawImage() = default;
  RawImage(int64_t c, int64_t h, int64_t w)
      : channels(c), height(h), width(w), data(static_cast<size_t>(c * h * w)) {}
  float& at(int64_t c, int64_t y, int64_t x) {
    return data[static_cast<size_t>((c * height + y) * width + x)];
  }
  float at(int64_t c, int64_t y, int64_t x) const {
    return data[static_cast<size_t>((c * height + y) * width + x)];
  }
};

struct ImageInfo {
  int64_t channels = 0;  // as stored: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  int64_t height = 0;
  int64_t width = 0;
};

// True when the extension (case-insensitive) is one decode_image reads: .png .jpg .jpeg .bmp .pgm .ppm.
bool is_image_file_name(const std::string& path);

// Reads only the header. Throws Error naming the path when the file is not a readable image.
ImageInfo image_info(const std::string& path);

// Decodes an image to 8-bit values in a RawImage. An alpha channel is dropped (gray+alpha → 1 channel,
// RGBA → 3), so the result has 1 or 3 channels. 16-bit PNGs are reduced to 8 bits.
// Throws Error naming the path and the decoder's reason when the file cannot be decoded.
RawImage decode_image(const std::string& path);

}  // namespace qs
