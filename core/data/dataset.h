// Datasets: images (+ optional labels) read from disk batch by batch and preprocessed into NCHW float32.
//
// Sources, detected by content (not by file name):
//   - IDX (MNIST / Fashion-MNIST), plain or gzip: uint8 N × H × W images, 1 channel.
//   - .npy: N × H × W (1 channel), or N × C × H × W / N × H × W × C (see NpyLayout); uint8, int8, int16,
//     uint16, int32, uint32, int64, uint64, float32 or float64 values.
//   - a folder of images (PNG, JPEG, BMP, PGM/PPM): with one subfolder per class, labels are the class
//     indices in sorted subfolder-name order (as torchvision's ImageFolder: files found recursively in a
//     class folder, ordered by directory then file name); a flat folder has no labels of its own. Files
//     and folders whose name starts with '.' are ignored, and so are files that are not images.
//   - a single image file: a dataset of one sample.
// Labels: an IDX labels file (plain or gzip), a .npy of integers with shape (N) or (N, 1), or the class
// subfolders of a folder source.
//
// Models whose input is not an image (rank other than 4: a Conv1d's [N, C, L], a sequence model's
// [N, T, D], a plain [N, F]) take tensor data instead (DataConfig::tensors): a .npy of shape (N, ...) whose
// sample shape is the input's, fed as it is (no preprocessing), converted to the input's type.
//
// Memory: nothing is held per sample except labels (and file names for folders). IDX and .npy data are
// read from the file for each batch; images are decoded for each batch.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/data/preprocess.h"
#include "core/graph/graph.h"
#include "core/tensor/tensor.h"

namespace qs {

// How a rank-4 .npy array is laid out. kAuto picks NHWC when the last extent is 1, 3 or 4 and the second
// is not, NCHW otherwise.
enum class NpyLayout { kAuto, kNCHW, kNHWC };

struct DataConfig {
  std::string images;  // IDX file (.gz or not), .npy, folder of images or single image
  std::string labels;  // optional: IDX labels file or integer .npy (not with a class-subfolder folder)
  Preprocess pre;      // pre.channels/height/width: the model's input C, H, W
  int64_t limit = -1;  // use only the first `limit` samples (-1: all)
  NpyLayout npy_layout = NpyLayout::kAuto;
  // The model takes images as [N, H, W, C] (TensorFlow's layout, e.g. from tf2onnx): samples are
  // preprocessed as usual, then given to it in that layout.
  bool nhwc = false;
  // Tensor data (see above): the input's dimensions after the batch (−1 where the model leaves one open)
  // and its type; `pre` is not used.
  bool tensors = false;
  std::vector<int64_t> tensor_dims;
  DType tensor_dtype = DType::Float32;
  // A model with several inputs: the data of the others, by input name (each configured for its input;
  // Dataset::attach_input). This config feeds the first input.
  std::vector<std::pair<std::string, DataConfig>> more;
};

// Shapes `c` for the model input `in`: its C, H, W (where known) for images when it has rank 4 or an
// unknown rank, tensor data (c.tensors) for any other rank. A rank-4 input whose last extent is 1, 3 or 4
// and whose second is not is taken as NHWC (c.nhwc).
void configure_for_input(DataConfig& c, const ValueInfo& in);

struct Batch {
  Tensor images;                // float32 [B, C, H, W] ([B, H, W, C] for NHWC models), preprocessed;
                                // tensor data: [B, ...] as stored
  std::vector<int64_t> labels;  // B labels, or empty when the dataset has none
  // A model with several inputs: the same B samples of every other input, by input name
  // (Dataset::attach_input); `images` feeds the first.
  std::map<std::string, Tensor> more;
};

class Dataset;
std::unique_ptr<Dataset> open_own(const DataConfig& config);  // open_dataset without config.more

class Dataset {
 public:
  virtual ~Dataset() = default;

  // Samples available (after `limit`).
  int64_t size() const { return size_; }
  // Shape of the source's samples (for a folder: of its first image, alpha included in the count).
  int64_t channels() const { return src_channels_; }
  int64_t height() const { return src_height_; }
  int64_t width() const { return src_width_; }
  // Shape {C, H, W} of one preprocessed sample (tensor data: the sample's shape, any rank).
  Shape sample_shape() const {
    if (tensors_) return tensor_shape_;
    return nhwc_ ? Shape{prep_.height, prep_.width, prep_.channels}
                 : Shape{prep_.channels, prep_.height, prep_.width};
  }
  // Whether this is tensor data (DataConfig::tensors) rather than images.
  bool tensors() const { return tensors_; }
  // Whether samples are given to the model as [H, W, C] (DataConfig::nhwc).
  bool nhwc() const { return nhwc_; }
  const PreparedPreprocess& preprocess() const { return prep_; }

  bool has_labels() const { return has_labels_; }
  // The labels of samples [0, size()), empty without labels.
  const std::vector<int64_t>& labels() const { return labels_; }
  // Class names (subfolder names) of a class-folder source, indexed by label; empty otherwise.
  const std::vector<std::string>& class_names() const { return class_names_; }
  // One line describing the source, e.g. "t10k-images-idx3-ubyte.gz: IDX uint8 10000 x 28 x 28 (gzip)".
  const std::string& description() const { return description_; }
  // A name for sample i in messages: its file path for folders, "path[i]" for array files.
  virtual std::string sample_name(int64_t i) const = 0;

  // Reads and preprocesses samples [begin, begin + count), with those of the attached inputs. Not
  // thread-safe (sources keep a file position). Throws Error naming the file (and sample) on unreadable or
  // inconsistent data.
  Batch read(int64_t begin, int64_t count);

  // Models with several inputs: the data of another input, sample i of `data` going with sample i of this
  // one (Batch::more). Throws Error naming both sources when their sample counts differ.
  void attach_input(const std::string& input, std::unique_ptr<Dataset> data);
  // The attached inputs' datasets, by input name.
  const std::map<std::string, std::unique_ptr<Dataset>>& attached() const { return more_; }
  // The shape of one sample of every input: `first` (the model input this dataset feeds) and the
  // attached ones.
  std::map<std::string, Shape> sample_shapes(const std::string& first) const;

 protected:
  // Decodes samples [begin, begin + count) of the source, unscaled, into `out` (resized to count).
  virtual void read_raw(int64_t begin, int64_t count, std::vector<RawImage>& out) = 0;
  // Tensor data: samples [begin, begin + count) as one tensor [count, ...sample_shape()].
  virtual Tensor read_tensor(int64_t begin, int64_t count);

  // Set by the source's constructor.
  int64_t count_ = 0;  // samples in the source, before `limit`
  int64_t src_channels_ = 0, src_height_ = 0, src_width_ = 0;
  bool source_8bit_ = true;
  bool has_labels_ = false;
  std::vector<int64_t> labels_;
  std::vector<std::string> class_names_;
  std::string description_;
  bool tensors_ = false;
  Shape tensor_shape_;
  bool nhwc_ = false;

 private:
  friend std::unique_ptr<Dataset> open_own(const DataConfig& config);
  Batch read_own(int64_t begin, int64_t count);  // this source's samples only
  int64_t size_ = 0;
  PreparedPreprocess prep_;
  std::map<std::string, std::unique_ptr<Dataset>> more_;
};

// The feeds of one batch for model `g`: its first input from b.images, the others from b.more. Throws
// Error naming an input with no data, or data for a name the model has no input of.
std::map<std::string, Tensor> feeds_of(const Graph& g, const Batch& b);
// The same in the order of g.inputs (Executor::run, IntegerModel::run, SimulatedModel::run).
std::vector<Tensor> inputs_of(const Graph& g, const Batch& b);

// Opens the images (and labels) of `config`, checks that they agree (label count = image count,
// preprocessing consistent with the data), attaches config.more, and returns the dataset. Throws Error
// naming the file and the problem.
std::unique_ptr<Dataset> open_dataset(const DataConfig& config);

// Reads a labels file: IDX labels (plain or gzip) or a .npy of integers of shape (N) or (N, 1).
std::vector<int64_t> read_labels(const std::string& path);

// Progress of a long read: called with (samples done, total); returning false cancels.
using ProgressFn = std::function<bool(int64_t done, int64_t total)>;

// Iterates a dataset in batches of `batch_size` (the last one may be smaller):
//   BatchReader reader(*ds, 32, progress);
//   Batch b;
//   while (reader.next(b)) { ... }
// `progress` is called before each batch with the samples done so far (a false return throws
// CancelledError before any more is read) and once with (total, total) when the end is reached.
class BatchReader {
 public:
  BatchReader(Dataset& dataset, int64_t batch_size, ProgressFn progress = nullptr);
  // Fills `batch` with the next batch; false when every sample has been read.
  bool next(Batch& batch);
  int64_t done() const { return pos_; }

 private:
  Dataset& ds_;
  int64_t batch_size_;
  ProgressFn progress_;
  int64_t pos_ = 0;
  bool finished_ = false;
};

}  // namespace qs
