// Image folders and single image files as Datasets: file names are listed at open, pixels are decoded for
// each batch.
#include <algorithm>
#include <exception>
#include <filesystem>

#include "core/common/error.h"
#include "core/common/parallel.h"
#include "core/data/image.h"
#include "core/data/sources.h"

namespace qs::data_detail {

namespace fs = std::filesystem;

namespace {

bool hidden(const fs::path& p) {
  const std::string n = p.filename().string();
  return !n.empty() && n[0] == '.';
}

// Image files under `dir`, recursively, ordered as torchvision's ImageFolder does: by directory, then by
// file name within it.
std::vector<fs::path> images_under(const fs::path& dir) {
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink);
       it != fs::recursive_directory_iterator(); ++it) {
    if (hidden(it->path())) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && is_image_file_name(it->path().string())) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
    const std::string pa = a.parent_path().string(), pb = b.parent_path().string();
    if (pa != pb) return pa < pb;
    return a.filename().string() < b.filename().string();
  });
  return files;
}

class ImageFiles : public Dataset {
 public:
  std::string sample_name(int64_t i) const override { return files_[static_cast<size_t>(i)].string(); }

 protected:
  // Takes the list of files; the first one sets the source shape.
  void set_files(std::vector<fs::path> files) {
    files_ = std::move(files);
    count_ = static_cast<int64_t>(files_.size());
    const ImageInfo info = image_info(files_.front().string());
    src_channels_ = info.channels;
    src_height_ = info.height;
    src_width_ = info.width;
    source_8bit_ = true;
  }

  void read_raw(int64_t begin, int64_t count, std::vector<RawImage>& out) override {
    out.resize(static_cast<size_t>(count));
    // Decoding dominates for JPEG folders; errors are collected per sample and the first one rethrown,
    // since exceptions must not leave an OpenMP region.
    std::vector<std::exception_ptr> errors(static_cast<size_t>(count));
    parallel_for(
        0, count,
        [&](int64_t k) {
          try {
            out[static_cast<size_t>(k)] = decode_image(sample_name(begin + k));
          } catch (...) {
            errors[static_cast<size_t>(k)] = std::current_exception();
          }
        },
        src_height_ * src_width_ * 64);
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  }

  std::vector<fs::path> files_;
};

class ImageFolder : public ImageFiles {
 public:
  explicit ImageFolder(const std::string& path) {
    std::vector<fs::path> subdirs, top_files;
    for (const auto& e : fs::directory_iterator(path, fs::directory_options::follow_directory_symlink)) {
      if (hidden(e.path())) continue;
      if (e.is_directory())
        subdirs.push_back(e.path());
      else if (e.is_regular_file() && is_image_file_name(e.path().string()))
        top_files.push_back(e.path());
    }
    std::sort(subdirs.begin(), subdirs.end(), [](const fs::path& a, const fs::path& b) {
      return a.filename().string() < b.filename().string();
    });
    std::sort(top_files.begin(), top_files.end(), [](const fs::path& a, const fs::path& b) {
      return a.filename().string() < b.filename().string();
    });

    std::vector<fs::path> files;
    if (!subdirs.empty()) {
      if (!top_files.empty())
        throw Error(path + ": has both class subfolders and image files (" +
                    top_files.front().filename().string() +
                    "); put every image in a class subfolder, or use a flat folder without subfolders");
      for (size_t c = 0; c < subdirs.size(); ++c) {
        std::vector<fs::path> in_class = images_under(subdirs[c]);
        if (in_class.empty())
          throw Error(subdirs[c].string() + ": class folder has no images (.png .jpg .jpeg .bmp .pgm .ppm)");
        class_names_.push_back(subdirs[c].filename().string());
        labels_.insert(labels_.end(), in_class.size(), static_cast<int64_t>(c));
        files.insert(files.end(), in_class.begin(), in_class.end());
      }
      has_labels_ = true;
    } else {
      files = std::move(top_files);
    }
    if (files.empty()) throw Error(path + ": no images found (.png .jpg .jpeg .bmp .pgm .ppm)");
    set_files(std::move(files));
    description_ = path + ": folder of " + std::to_string(count_) + " images" +
                   (has_labels_ ? " in " + std::to_string(class_names_.size()) + " classes" : "") +
                   ", first " + dims_text({src_channels_, src_height_, src_width_});
  }
};

class SingleImage : public ImageFiles {
 public:
  explicit SingleImage(const std::string& path) {
    set_files({fs::path(path)});
    description_ = path + ": image " + dims_text({src_channels_, src_height_, src_width_});
  }
};

}  // namespace

std::unique_ptr<Dataset> open_image_folder(const std::string& path) {
  return std::make_unique<ImageFolder>(path);
}
std::unique_ptr<Dataset> open_image_file(const std::string& path) {
  return std::make_unique<SingleImage>(path);
}

}  // namespace qs::data_detail
