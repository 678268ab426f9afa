#include "core/data/image.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>

#include "core/common/error.h"

// The one translation unit that compiles stb_image. STB_IMAGE_STATIC keeps its symbols private to this
// file, so another target embedding stb_image cannot clash with it at link time.
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>

namespace qs {

namespace {

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

std::string reason() {
  const char* r = stbi_failure_reason();
  return r ? r : "unknown decoder error";
}

}  // namespace

bool is_image_file_name(const std::string& path) {
  const std::string ext = lower_extension(path);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".pgm" || ext == ".ppm";
}

ImageInfo image_info(const std::string& path) {
  int w = 0, h = 0, c = 0;
  if (!stbi_info(path.c_str(), &w, &h, &c))
    throw Error(path + ": cannot read image (" + (std::filesystem::exists(path) ? reason() : "no such file") +
                ")");
  return {c, h, w};
}

RawImage decode_image(const std::string& path) {
  int w = 0, h = 0, c = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(stbi_load(path.c_str(), &w, &h, &c, 0), stbi_image_free);
  if (!pixels)
    throw Error(path + ": cannot read image (" + (std::filesystem::exists(path) ? reason() : "no such file") +
                ")");
  // stb_image returns interleaved HWC; the alpha channel (the last one for c == 2 and c == 4) is dropped.
  const int64_t keep = (c == 1 || c == 2) ? 1 : 3;
  RawImage img(keep, h, w);
  const stbi_uc* p = pixels.get();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < keep; ++k) img.at(k, y, x) = p[(y * w + x) * c + k];
  return img;
}

}  // namespace qs
