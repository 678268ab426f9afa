// Data for model inputs that are not NCHW images: tensor .npy data (core/data/dataset.h) and images for
// NHWC inputs, against the arrays they come from.
#include <gtest/gtest.h>

#include "core/data/dataset.h"
#include "core/data/npy.h"
#include "tests/core/data_test_util.h"

namespace qs {
namespace {

using testing::expect_error;
using testing::ramp;
using DataInputTest = testing::DataDirTest;

// Tensor data for inputs that are not images: a .npy of (N, sample shape) read as stored, converted to the
// input's type, in batches that equal the array's rows; the shape checked against the input's known
// dimensions, with errors naming the file and the shape expected.
TEST_F(DataInputTest, TensorDataForNonImageInputs) {
  // An input [batch, 2, any] (a Conv1d's): float64 rows read as float32.
  ValueInfo in{"seq", DType::Float32, std::vector<Dim>{Dim{-1, "batch"}, Dim{2, ""}, Dim{-1, "len"}}};
  DataConfig c;
  configure_for_input(c, in);
  ASSERT_TRUE(c.tensors);
  EXPECT_EQ(c.tensor_dims, (std::vector<int64_t>{2, -1}));
  EXPECT_EQ(c.tensor_dtype, DType::Float32);
  std::vector<double> values(5 * 2 * 7);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.25 * static_cast<double>(i) - 9.0;
  c.images = path("seq.npy");
  write_npy(c.images, Tensor::from_vector<double>({5, 2, 7}, values));
  c.labels = path("labels.npy");
  write_npy(c.labels, Tensor::from_vector<int64_t>({5}, {4, 3, 2, 1, 0}));
  auto ds = open_dataset(c);
  EXPECT_TRUE(ds->tensors());
  EXPECT_EQ(ds->size(), 5);
  EXPECT_EQ(ds->sample_shape(), (Shape{2, 7}));
  const Batch b = ds->read(1, 3);
  ASSERT_EQ(b.images.dtype(), DType::Float32);
  ASSERT_EQ(b.images.shape(), (Shape{3, 2, 7}));
  const auto got = b.images.to_vector<float>();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], static_cast<float>(values[14 + i])) << i;
  EXPECT_EQ(b.labels, (std::vector<int64_t>{3, 2, 1}));
  // An int64 input (token ids) gets int64 rows; a rank-4 input or an unknown rank stays image data.
  DataConfig ci;
  configure_for_input(ci, ValueInfo{"ids", DType::Int64, std::vector<Dim>{Dim{-1, "b"}, Dim{7, ""}}});
  ci.images = path("ids.npy");
  write_npy(ci.images, Tensor::from_vector<int32_t>({2, 7}, std::vector<int32_t>(14, 5)));
  const Batch bi = open_dataset(ci)->read(0, 2);
  EXPECT_EQ(bi.images.dtype(), DType::Int64);
  EXPECT_EQ(bi.images.to_vector<int64_t>(), std::vector<int64_t>(14, 5));
  DataConfig img;
  configure_for_input(
      img, ValueInfo{"x", DType::Float32, std::vector<Dim>{Dim{1, ""}, Dim{3, ""}, Dim{8, ""}, Dim{9, ""}}});
  EXPECT_FALSE(img.tensors);
  EXPECT_EQ(img.pre.channels, 3);
  EXPECT_EQ(img.pre.width, 9);
  DataConfig unknown;
  configure_for_input(unknown, ValueInfo{"x", DType::Float32, std::nullopt});
  EXPECT_FALSE(unknown.tensors);
  // Errors: a sample shape that is not the input's, a source that is not a .npy, a scalar input.
  DataConfig bad = c;
  bad.labels.clear();
  bad.images = path("wrong.npy");
  write_npy(bad.images, Tensor::zeros(DType::Float32, {4, 3, 7}));
  expect_error([&] { open_dataset(bad); }, {"wrong.npy", "(N, 2, any)", "[4, 3, 7]"});
  write_npy(bad.images, Tensor::zeros(DType::Float32, {4, 2}));
  expect_error([&] { open_dataset(bad); }, {"wrong.npy", "(N, 2, any)"});
  bad.images = write("seq.idx", std::string("\0\0\x08\x03", 4));
  expect_error([&] { open_dataset(bad); }, {"seq.idx", "not an image", "(N, 2, any)"});
  DataConfig scalar;
  expect_error(
      [&] {
        configure_for_input(scalar, ValueInfo{"s", DType::Float32, std::vector<Dim>{}});
      },
      {"'s'", "scalar"});
}

// A model taking images as [N, H, W, C] (tf2onnx's layout) gets the same preprocessed samples, transposed:
// its sample shape is {H, W, C}. An input whose second extent is a channel count stays NCHW.
TEST_F(DataInputTest, ImagesForNhwcInputsAreTheNchwSamplesTransposed) {
  DataConfig c;
  configure_for_input(
      c, ValueInfo{"x", DType::Float32, std::vector<Dim>{Dim{-1, "b"}, Dim{5, ""}, Dim{6, ""}, Dim{3, ""}}});
  ASSERT_TRUE(c.nhwc);
  EXPECT_EQ(c.pre.channels, 3);
  EXPECT_EQ(c.pre.height, 5);
  EXPECT_EQ(c.pre.width, 6);
  std::vector<uint8_t> px = ramp(4 * 5 * 6 * 3);
  c.images = path("rgb.npy");
  c.npy_layout = NpyLayout::kNHWC;
  write_npy(c.images, Tensor::from_vector<uint8_t>({4, 5, 6, 3}, px));
  DataConfig nchw = c;
  nchw.nhwc = false;
  auto ds = open_dataset(c);
  EXPECT_EQ(ds->sample_shape(), (Shape{5, 6, 3}));
  const Tensor a = ds->read(1, 2).images, b = open_dataset(nchw)->read(1, 2).images;
  ASSERT_EQ(a.shape(), (Shape{2, 5, 6, 3}));
  ASSERT_EQ(b.shape(), (Shape{2, 3, 5, 6}));
  for (int64_t k = 0; k < 2; ++k)
    for (int64_t y = 0; y < 5; ++y)
      for (int64_t x = 0; x < 6; ++x)
        for (int64_t ch = 0; ch < 3; ++ch)
          EXPECT_EQ(a.data<float>()[((k * 5 + y) * 6 + x) * 3 + ch],
                    b.data<float>()[((k * 3 + ch) * 5 + y) * 6 + x]);
  DataConfig chw;
  configure_for_input(
      chw, ValueInfo{"x", DType::Float32, std::vector<Dim>{Dim{1, ""}, Dim{3, ""}, Dim{8, ""}, Dim{3, ""}}});
  EXPECT_FALSE(chw.nhwc);
  EXPECT_EQ(chw.pre.channels, 3);
}

}  // namespace
}  // namespace qs
