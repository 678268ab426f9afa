#include "core/data/dataset.h"

#include <algorithm>
#include <exception>
#include <filesystem>

#include "core/common/error.h"
#include "core/common/parallel.h"
#include "core/data/idx.h"
#include "core/data/npy.h"
#include "core/data/sources.h"

namespace qs {

namespace data_detail {

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += " x ";
    s += std::to_string(dims[i]);
  }
  return s;
}

std::string dims_tuple(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + (dims[i] < 0 ? std::string("any") : std::to_string(dims[i]));
  return s;
}

}  // namespace data_detail

namespace {

namespace fs = std::filesystem;

constexpr char kNpyMagic[] = "\x93NUMPY";

bool starts_with_npy(const std::string& head) { return head.compare(0, 6, kNpyMagic, 6) == 0; }

// The first bytes of an IDX file: two zero bytes, a known type code, a non-zero dimension count.
bool looks_like_idx(const std::string& head) {
  if (head.size() < 4 || head[0] != 0 || head[1] != 0 || head[3] == 0) return false;
  const auto t = static_cast<unsigned char>(head[2]);
  return t == 0x08 || t == 0x09 || t == 0x0B || t == 0x0C || t == 0x0D || t == 0x0E;
}

void require_exists(const std::string& path, const char* what) {
  if (path.empty()) throw Error(std::string("no ") + what + " path given");
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such file or directory");
}

std::unique_ptr<Dataset> open_source(const DataConfig& config) {
  const std::string& path = config.images;
  require_exists(path, "images");
  if (config.tensors) {
    if (fs::is_directory(path) || !starts_with_npy(peek_file(path, 8)))
      throw Error(path + ": the model's input is not an image (its samples have shape (" +
                  data_detail::dims_tuple(config.tensor_dims) + ")): give a .npy array of shape (N, " +
                  data_detail::dims_tuple(config.tensor_dims) + ")");
    if (is_gzip_file(path))
      throw UnsupportedError(path + ": gzip-compressed .npy files are not supported; decompress it");
    return data_detail::open_npy_tensors(path, config.tensor_dims, config.tensor_dtype);
  }
  if (fs::is_directory(path)) return data_detail::open_image_folder(path);
  const std::string head = peek_file(path, 8);
  if (starts_with_npy(head)) {
    if (is_gzip_file(path))
      throw UnsupportedError(path + ": gzip-compressed .npy files are not supported; decompress it");
    return data_detail::open_npy_images(path, config.npy_layout);
  }
  if (looks_like_idx(head)) return data_detail::open_idx_images(path);
  if (is_image_file_name(path)) return data_detail::open_image_file(path);
  throw Error(path +
              ": unrecognized data format (expected an IDX file, plain or .gz, a .npy array, a folder of "
              "images, or a .png/.jpg/.jpeg/.bmp/.pgm/.ppm image)");
}

}  // namespace

std::vector<int64_t> read_labels(const std::string& path) {
  require_exists(path, "labels");
  if (fs::is_directory(path))
    throw Error(path +
                ": a folder cannot be a labels file (class-subfolder labels come with a folder of images)");
  const std::string head = peek_file(path, 8);
  if (!starts_with_npy(head)) return read_idx_labels(path);  // reports a bad magic itself
  if (is_gzip_file(path))
    throw UnsupportedError(path + ": gzip-compressed .npy files are not supported; decompress it");
  const Tensor t = read_npy(path);
  switch (t.dtype()) {
    case DType::Float32:
    case DType::Float64:
    case DType::Bool:
      throw Error(path + ": labels must be integers; this .npy holds " + dtype_name(t.dtype()));
    default:
      break;
  }
  if (!(t.rank() == 1 || (t.rank() == 2 && t.dim(1) == 1)))
    throw Error(path + ": labels must have shape (N) or (N, 1); this .npy has shape " + shape_str(t.shape()));
  return t.to_vector<int64_t>();
}

std::unique_ptr<Dataset> open_dataset(const DataConfig& config) {
  std::unique_ptr<Dataset> ds = open_own(config);
  for (const auto& [input, more] : config.more) {
    if (!more.more.empty())
      throw Error("input '" + input + "': attached data cannot carry inputs of its own");
    ds->attach_input(input, open_own(more));
  }
  return ds;
}

std::unique_ptr<Dataset> open_own(const DataConfig& config) {
  std::unique_ptr<Dataset> ds = open_source(config);
  if (!config.labels.empty()) {
    if (ds->has_labels_)
      throw Error(config.labels + ": a labels file was given but " + config.images +
                  " has class subfolders, which are its labels; give one or the other");
    ds->labels_ = read_labels(config.labels);
    ds->has_labels_ = true;
  }
  if (ds->has_labels_ && static_cast<int64_t>(ds->labels_.size()) != ds->count_)
    throw Error(config.labels + ": has " + std::to_string(ds->labels_.size()) + " labels but " +
                config.images + " has " + std::to_string(ds->count_) + " images");
  ds->size_ = config.limit >= 0 ? std::min(config.limit, ds->count_) : ds->count_;
  if (ds->has_labels_) ds->labels_.resize(static_cast<size_t>(ds->size_));
  if (ds->tensors_) return ds;  // fed as stored: no preprocessing
  ds->nhwc_ = config.nhwc;
  if (ds->nhwc_) ds->description_ += " (given to the model as NHWC)";
  try {
    ds->prep_ =
        prepare_preprocess(config.pre, ds->src_channels_, ds->src_height_, ds->src_width_, ds->source_8bit_);
  } catch (const Error& e) {
    throw Error(config.images + ": " + e.what());
  }
  return ds;
}

void configure_for_input(DataConfig& c, const ValueInfo& in) {
  if (!in.shape || in.shape->size() == 4) {
    c.tensors = false;
    c.nhwc = false;
    if (in.shape) {
      const auto& s = *in.shape;
      const auto extent = [&](size_t i) { return s[i].known() ? s[i].value : 0; };
      const auto channel_like = [&](size_t i) { return extent(i) == 1 || extent(i) == 3 || extent(i) == 4; };
      c.nhwc = channel_like(3) && !channel_like(1);
      c.pre.channels = extent(c.nhwc ? 3 : 1);
      c.pre.height = extent(c.nhwc ? 1 : 2);
      c.pre.width = extent(c.nhwc ? 2 : 3);
    }
    return;
  }
  if (in.shape->empty())
    throw Error("input '" + in.name + "' is a scalar: there is no batch axis to feed samples on");
  c.tensors = true;
  c.tensor_dims.clear();
  for (size_t i = 1; i < in.shape->size(); ++i)
    c.tensor_dims.push_back((*in.shape)[i].known() ? (*in.shape)[i].value : -1);
  c.tensor_dtype = in.dtype == DType::Undefined ? DType::Float32 : in.dtype;
}

Tensor Dataset::read_tensor(int64_t, int64_t) { throw Error(description_ + ": not tensor data"); }

void Dataset::attach_input(const std::string& input, std::unique_ptr<Dataset> data) {
  if (data->size() != size_)
    throw Error("input '" + input + "': " + data->description() + " has " + std::to_string(data->size()) +
                " samples, but " + description_ + " has " + std::to_string(size_) +
                " (every input needs one sample per sample of the others)");
  more_[input] = std::move(data);
}

std::map<std::string, Shape> Dataset::sample_shapes(const std::string& first) const {
  std::map<std::string, Shape> r{{first, sample_shape()}};
  for (const auto& [name, d] : more_) r[name] = d->sample_shape();
  return r;
}

std::map<std::string, Tensor> feeds_of(const Graph& g, const Batch& b) {
  if (g.inputs.empty()) throw Error("the model has no inputs to feed data to");
  std::map<std::string, Tensor> feeds{{g.inputs[0].name, b.images}};
  for (const auto& [name, t] : b.more) {
    if (std::none_of(g.inputs.begin(), g.inputs.end(), [&](const ValueInfo& v) { return v.name == name; }))
      throw Error("data was given for input '" + name + "', which the model does not have");
    feeds[name] = t;
  }
  for (const auto& in : g.inputs)
    if (!feeds.count(in.name))
      throw Error("input '" + in.name + "' has no data: the model has " + std::to_string(g.inputs.size()) +
                  " inputs, and each needs data of its own");
  return feeds;
}

std::vector<Tensor> inputs_of(const Graph& g, const Batch& b) {
  const auto feeds = feeds_of(g, b);
  std::vector<Tensor> r;
  for (const auto& in : g.inputs) r.push_back(feeds.at(in.name));
  return r;
}

Batch Dataset::read(int64_t begin, int64_t count) {
  Batch batch = read_own(begin, count);
  for (const auto& [name, d] : more_) batch.more[name] = d->read(begin, count).images;
  return batch;
}

Batch Dataset::read_own(int64_t begin, int64_t count) {
  if (begin < 0 || count < 0 || begin + count > size_)
    throw Error("dataset read of samples [" + std::to_string(begin) + ", " + std::to_string(begin + count) +
                ") is out of range (the dataset has " + std::to_string(size_) + ")");
  if (tensors_) {
    Batch batch;
    batch.images = read_tensor(begin, count);
    if (has_labels_) batch.labels.assign(labels_.begin() + begin, labels_.begin() + begin + count);
    return batch;
  }
  std::vector<RawImage> raw;
  read_raw(begin, count, raw);

  Batch batch;
  batch.images = Tensor(DType::Float32, {count, prep_.channels, prep_.height, prep_.width});
  const int64_t sample = prep_.channels * prep_.height * prep_.width;
  float* out = batch.images.data<float>();
  std::vector<std::exception_ptr> errors(static_cast<size_t>(count));
  parallel_for(
      0, count,
      [&](int64_t k) {
        try {
          preprocess_image(raw[static_cast<size_t>(k)], prep_, out + k * sample, sample_name(begin + k));
        } catch (...) {
          errors[static_cast<size_t>(k)] = std::current_exception();
        }
      },
      sample * 8);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  if (nhwc_) {
    const int64_t C = prep_.channels, HW = prep_.height * prep_.width;
    Tensor t(DType::Float32, {count, prep_.height, prep_.width, C});
    float* d = t.data<float>();
    for (int64_t k = 0; k < count; ++k)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < HW; ++i) d[(k * HW + i) * C + c] = out[(k * C + c) * HW + i];
    batch.images = std::move(t);
  }
  if (has_labels_) batch.labels.assign(labels_.begin() + begin, labels_.begin() + begin + count);
  return batch;
}

BatchReader::BatchReader(Dataset& dataset, int64_t batch_size, ProgressFn progress)
    : ds_(dataset), batch_size_(batch_size), progress_(std::move(progress)) {
  if (batch_size_ <= 0) throw Error("batch size must be positive, got " + std::to_string(batch_size));
}

bool BatchReader::next(Batch& batch) {
  const int64_t total = ds_.size();
  if (pos_ >= total) {
    if (!finished_ && progress_) progress_(total, total);
    finished_ = true;
    return false;
  }
  if (progress_ && !progress_(pos_, total)) throw CancelledError();
  const int64_t n = std::min(batch_size_, total - pos_);
  batch = ds_.read(pos_, n);
  pos_ += n;
  return true;
}

}  // namespace qs
