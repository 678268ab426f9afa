// IDX images (MNIST format) as a Dataset: the file stays open and each batch is read from it.
#include <filesystem>

#include "core/common/error.h"
#include "core/data/idx.h"
#include "core/data/sources.h"

namespace qs::data_detail {

namespace {

class IdxImages : public Dataset {
 public:
  explicit IdxImages(const std::string& path) : file_(path) {
    const auto& d = file_.dims();
    if (d.size() == 1)
      throw Error(path +
                  ": this IDX file holds 1-D data (labels?), not images (N x rows x cols, magic 0x00000803)");
    if (d.size() != 3)
      throw UnsupportedError(path +
                             ": IDX images must have 3 dimensions (N x rows x cols, magic 0x00000803); this "
                             "file has " +
                             std::to_string(d.size()) + " (" + dims_text(d) + ")");
    if (file_.type_code() != 0x08)
      throw UnsupportedError(path + ": IDX images of type " + idx_type_name(file_.type_code()) +
                             " are not supported (only uint8, magic 0x00000803)");
    count_ = d[0];
    src_channels_ = 1;
    src_height_ = d[1];
    src_width_ = d[2];
    source_8bit_ = true;
    description_ = std::filesystem::path(path).filename().string() + ": IDX uint8 " + dims_text(d) +
                   (file_.gzip() ? " (gzip)" : "");
  }

  std::string sample_name(int64_t i) const override { return file_.path() + "[" + std::to_string(i) + "]"; }

 protected:
  void read_raw(int64_t begin, int64_t count, std::vector<RawImage>& out) override {
    buf_.resize(static_cast<size_t>(count * file_.item_bytes()));
    file_.read(begin, count, buf_.data());
    out.resize(static_cast<size_t>(count));
    const size_t plane = static_cast<size_t>(src_height_ * src_width_);
    for (int64_t k = 0; k < count; ++k) {
      RawImage& img = out[static_cast<size_t>(k)];
      img = RawImage(1, src_height_, src_width_);
      const unsigned char* p = buf_.data() + static_cast<size_t>(k) * plane;
      for (size_t i = 0; i < plane; ++i) img.data[i] = p[i];
    }
  }

 private:
  IdxFile file_;
  std::vector<unsigned char> buf_;  // one batch of uint8 pixels
};

}  // namespace

std::unique_ptr<Dataset> open_idx_images(const std::string& path) {
  return std::make_unique<IdxImages>(path);
}

}  // namespace qs::data_detail
