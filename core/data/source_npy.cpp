// A .npy array of images as a Dataset: the header is parsed once and each batch is read with a seek.
#include <filesystem>
#include <fstream>

#include "core/common/error.h"
#include "core/data/npy.h"
#include "core/data/sources.h"

namespace qs::data_detail {

namespace {

bool is_channel_count(int64_t n) { return n == 1 || n == 3 || n == 4; }

class NpyImages : public Dataset {
 public:
  NpyImages(const std::string& path, NpyLayout layout) : path_(path), header_(read_npy_header(path)) {
    const Shape& s = header_.shape;
    if (header_.dtype == DType::Bool)
      throw UnsupportedError(path + ": a bool .npy array cannot be used as images");
    if (s.size() == 3) {
      nhwc_ = false;
      src_channels_ = 1;
      src_height_ = s[1];
      src_width_ = s[2];
    } else if (s.size() == 4) {
      nhwc_ = layout == NpyLayout::kNHWC ||
              (layout == NpyLayout::kAuto && is_channel_count(s[3]) && !is_channel_count(s[1]));
      src_channels_ = nhwc_ ? s[3] : s[1];
      src_height_ = nhwc_ ? s[1] : s[2];
      src_width_ = nhwc_ ? s[2] : s[3];
    } else {
      throw Error(path +
                  ": a .npy of images must be 3-D (N, H, W) or 4-D (N, C, H, W or N, H, W, C); this one has "
                  "shape " +
                  shape_str(s));
    }
    count_ = s[0];
    source_8bit_ = header_.dtype == DType::UInt8;
    sample_bytes_ =
        static_cast<int64_t>(dtype_size(header_.dtype)) * src_channels_ * src_height_ * src_width_;
    in_.open(path, std::ios::binary);
    if (!in_) throw Error(path + ": cannot open file");
    description_ = std::filesystem::path(path).filename().string() + ": npy " + dtype_name(header_.dtype) +
                   " " + dims_text(s) + (s.size() == 4 ? (nhwc_ ? " (NHWC)" : " (NCHW)") : "");
  }

  std::string sample_name(int64_t i) const override { return path_ + "[" + std::to_string(i) + "]"; }

 protected:
  void read_raw(int64_t begin, int64_t count, std::vector<RawImage>& out) override {
    buf_.resize(static_cast<size_t>(count * sample_bytes_));
    in_.clear();
    in_.seekg(header_.data_offset + begin * sample_bytes_);
    in_.read(reinterpret_cast<char*>(buf_.data()), static_cast<std::streamsize>(buf_.size()));
    if (static_cast<size_t>(in_.gcount()) != buf_.size())
      throw Error(path_ + ": read error (the file changed since it was opened?)");
    const size_t esize = dtype_size(header_.dtype);
    if (header_.big_endian) byteswap_elements(buf_.data(), static_cast<int64_t>(buf_.size() / esize), esize);

    const int64_t c_n = src_channels_, h_n = src_height_, w_n = src_width_;
    out.resize(static_cast<size_t>(count));
    dispatch_dtype(header_.dtype, [&](auto tag) {
      using T = decltype(tag);
      for (int64_t k = 0; k < count; ++k) {
        const T* p = reinterpret_cast<const T*>(buf_.data() + k * sample_bytes_);
        RawImage& img = out[static_cast<size_t>(k)];
        img = RawImage(c_n, h_n, w_n);
        if (!nhwc_) {
          for (size_t i = 0; i < img.data.size(); ++i) img.data[i] = static_cast<float>(p[i]);
        } else {
          for (int64_t y = 0; y < h_n; ++y)
            for (int64_t x = 0; x < w_n; ++x)
              for (int64_t c = 0; c < c_n; ++c)
                img.at(c, y, x) = static_cast<float>(p[(y * w_n + x) * c_n + c]);
        }
      }
    });
  }

 private:
  std::string path_;
  NpyHeader header_;
  bool nhwc_ = false;
  int64_t sample_bytes_ = 0;
  std::ifstream in_;
  std::vector<unsigned char> buf_;  // one batch as stored
};

// Tensor data: N samples of any shape, read as stored and converted to the model input's type.
class NpyTensors : public Dataset {
 public:
  NpyTensors(const std::string& path, const std::vector<int64_t>& dims, DType dtype)
      : path_(path), header_(read_npy_header(path)), dtype_(dtype) {
    const Shape& s = header_.shape;
    bool fits = s.size() == dims.size() + 1;
    for (size_t i = 0; fits && i < dims.size(); ++i) fits = dims[i] < 0 || s[i + 1] == dims[i];
    if (!fits)
      throw Error(path + ": the model's input takes samples of shape (" + dims_tuple(dims) +
                  "), so the .npy must have shape (N, " + dims_tuple(dims) + "); this one has shape " +
                  shape_str(s));
    if (header_.dtype == DType::Bool)
      throw UnsupportedError(path + ": a bool .npy array cannot be model input");
    tensors_ = true;
    tensor_shape_ = Shape(s.begin() + 1, s.end());
    count_ = s[0];
    sample_bytes_ = static_cast<int64_t>(dtype_size(header_.dtype)) * numel(tensor_shape_);
    in_.open(path, std::ios::binary);
    if (!in_) throw Error(path + ": cannot open file");
    description_ = std::filesystem::path(path).filename().string() + ": npy " + dtype_name(header_.dtype) +
                   " " + dims_text(s) + " (tensors, fed as " + dtype_name(dtype) + ")";
  }

  std::string sample_name(int64_t i) const override { return path_ + "[" + std::to_string(i) + "]"; }

 protected:
  void read_raw(int64_t, int64_t, std::vector<RawImage>&) override {
    throw Error(path_ + ": tensor data has no images");
  }
  Tensor read_tensor(int64_t begin, int64_t count) override {
    Shape shape = tensor_shape_;
    shape.insert(shape.begin(), count);
    Tensor stored(header_.dtype, shape);
    in_.clear();
    in_.seekg(header_.data_offset + begin * sample_bytes_);
    in_.read(static_cast<char*>(stored.raw()), static_cast<std::streamsize>(stored.nbytes()));
    if (static_cast<size_t>(in_.gcount()) != stored.nbytes())
      throw Error(path_ + ": read error (the file changed since it was opened?)");
    const size_t esize = dtype_size(header_.dtype);
    if (header_.big_endian) byteswap_elements(stored.raw(), stored.numel(), esize);
    return stored.dtype() == dtype_ ? stored : stored.cast(dtype_);
  }

 private:
  std::string path_;
  NpyHeader header_;
  DType dtype_;
  int64_t sample_bytes_ = 0;
  std::ifstream in_;
};

}  // namespace

std::unique_ptr<Dataset> open_npy_tensors(const std::string& path, const std::vector<int64_t>& dims,
                                          DType dtype) {
  return std::make_unique<NpyTensors>(path, dims, dtype);
}

std::unique_ptr<Dataset> open_npy_images(const std::string& path, NpyLayout layout) {
  return std::make_unique<NpyImages>(path, layout);
}

}  // namespace qs::data_detail
