// The concrete dataset sources behind open_dataset (internal to core/data). Each constructor opens its
// input, reads what it needs to know the sample count and shape, and throws Error naming the file when the
// input is not what it should be.
#pragma once

#include <memory>
#include <string>

#include "core/data/dataset.h"

namespace qs::data_detail {

std::unique_ptr<Dataset> open_idx_images(const std::string& path);
std::unique_ptr<Dataset> open_npy_images(const std::string& path, NpyLayout layout);
// Tensor data (DataConfig::tensors): a .npy of shape (N, dims...) (−1 in `dims`: any extent), as `dtype`.
std::unique_ptr<Dataset> open_npy_tensors(const std::string& path, const std::vector<int64_t>& dims,
                                          DType dtype);
// A folder: class subfolders give labels; a flat folder has none.
std::unique_ptr<Dataset> open_image_folder(const std::string& path);
std::unique_ptr<Dataset> open_image_file(const std::string& path);

// "28x28" style shape text for descriptions and messages.
std::string dims_text(const std::vector<int64_t>& dims);
// "3, 16" style: the dimensions of a sample in messages about tensor data; −1 is written "any".
std::string dims_tuple(const std::vector<int64_t>& dims);

}  // namespace qs::data_detail
