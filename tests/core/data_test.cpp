// Tests of core/data: every input file is written here, byte by byte or with zlib / stb_image_write, into a
// temporary directory, so the expected values are the ones written.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/data/dataset.h"
#include "core/data/idx.h"
#include "core/data/npy.h"
#include "core/data/preprocess.h"
#include "tests/core/data_test_util.h"

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace qs {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;
using testing::ramp;

// ---- file builders ---------------------------------------------------------------------------------------

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// An IDX file exactly as MNIST lays it out: magic 0x00000803 (2051), count, rows, cols, then the pixels.
std::string idx_images(uint32_t n, uint32_t h, uint32_t w, const std::vector<uint8_t>& px) {
  std::string s = be32(0x00000803) + be32(n) + be32(h) + be32(w);
  s.append(px.begin(), px.end());
  return s;
}
// MNIST labels: magic 0x00000801 (2049), count, then one byte per label.
std::string idx_labels(const std::vector<uint8_t>& labels) {
  std::string s = be32(0x00000801) + be32(static_cast<uint32_t>(labels.size()));
  s.append(labels.begin(), labels.end());
  return s;
}

// A .npy file around `dict`, padded as NumPy does (total header a multiple of 64, ended by '\n').
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string d = dict;
  const size_t total = ((prefix + d.size() + 1 + 63) / 64) * 64;
  d.append(total - prefix - d.size() - 1, ' ');
  d += '\n';
  std::string s = "\x93NUMPY";
  s += static_cast<char>(major);
  s += '\0';
  const uint32_t len = static_cast<uint32_t>(d.size());
  for (size_t i = 0; i < (major == 1 ? 2u : 4u); ++i) s += static_cast<char>((len >> (8 * i)) & 0xFF);
  return s + d + data;
}

template <typename T>
std::string raw_bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

class DataTest : public testing::DataDirTest {
 protected:
  // Interleaved HWC pixels, as stb_image_write takes them.
  std::string write_png(const std::string& name, int w, int h, int c, const std::vector<uint8_t>& px) const {
    const std::string p = path(name);
    fs::create_directories(fs::path(p).parent_path());
    EXPECT_NE(stbi_write_png(p.c_str(), w, h, c, px.data(), w * c), 0);
    return p;
  }
};

std::vector<float> floats(const Tensor& t) { return t.to_vector<float>(); }

// ---- .npy ------------------------------------------------------------------------------------------------

TEST_F(DataTest, NpyReadsHandWrittenHeaders) {
  // v1.0 with padding, 2-D float32.
  const std::vector<float> f = {1.5f, -2.f, 3.25f, 0.f, 7.f, -0.5f};
  Tensor t = read_npy(
      write("a.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", raw_bytes(f))));
  EXPECT_EQ(t.dtype(), DType::Float32);
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.to_vector<float>(), f);

  // A 1-tuple, int64, keys in another order and double quotes.
  const std::vector<int64_t> l = {5, -1, 1LL << 40};
  t = read_npy(write(
      "b.npy", npy_bytes("{\"shape\": (3,), \"fortran_order\": False, \"descr\": \"<i8\"}", raw_bytes(l))));
  EXPECT_EQ(t.dtype(), DType::Int64);
  EXPECT_EQ(t.shape(), (Shape{3}));
  EXPECT_EQ(t.to_vector<int64_t>(), l);

  // A scalar: shape ().
  const std::vector<double> d = {2.718281828};
  t = read_npy(
      write("c.npy", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", raw_bytes(d))));
  EXPECT_EQ(t.dtype(), DType::Float64);
  EXPECT_EQ(t.rank(), 0);
  EXPECT_EQ(t.to_vector<double>(), d);

  // uint8 and int8 with the '|' byte order; a Python 2 long suffix.
  t = read_npy(write("d.npy", npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2L, 2L), }",
                                        std::string("\x00\x01\xfe\xff", 4))));
  EXPECT_EQ(t.dtype(), DType::UInt8);
  EXPECT_EQ(t.to_vector<int>(), (std::vector<int>{0, 1, 254, 255}));
  t = read_npy(
      write("e.npy", npy_bytes("{'descr': '|i1', 'fortran_order': False, 'shape': (2,), }", "\x80\x7f")));
  EXPECT_EQ(t.to_vector<int>(), (std::vector<int>{-128, 127}));

  // Big-endian float32 is byte-swapped: 1.0f is 3f 80 00 00.
  t = read_npy(write("f.npy", npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                                        std::string("\x3f\x80\x00\x00", 4))));
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1.f}));

  // Version 2.0 (4-byte header length).
  t = read_npy(write("g.npy", npy_bytes("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }",
                                        raw_bytes(std::vector<int32_t>{-7, 9}), 2)));
  EXPECT_EQ(t.shape(), (Shape{1, 2}));
  EXPECT_EQ(t.to_vector<int32_t>(), (std::vector<int32_t>{-7, 9}));
}

TEST_F(DataTest, NpyWriterRoundTripsAndWritesNumpyHeaders) {
  const Tensor f = Tensor::from_vector<float>({2, 2, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -11.5f});
  write_npy(path("f.npy"), f);
  Tensor r = read_npy(path("f.npy"));
  EXPECT_EQ(r.dtype(), DType::Float32);
  EXPECT_EQ(r.shape(), f.shape());
  EXPECT_EQ(r.to_vector<float>(), f.to_vector<float>());

  const Tensor i = Tensor::from_vector<int64_t>({3}, {7, -2, 1LL << 50});
  write_npy(path("i.npy"), i);
  r = read_npy(path("i.npy"));
  EXPECT_EQ(r.dtype(), DType::Int64);
  EXPECT_EQ(r.to_vector<int64_t>(), i.to_vector<int64_t>());

  // The exact bytes NumPy writes for np.save(p, np.array([7, -2, 2**50])): the header text and padding.
  std::ifstream in(path("i.npy"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8), 118);
  EXPECT_EQ(bytes.substr(10, dict.size()), dict);
  EXPECT_EQ(bytes[127], '\n');
  EXPECT_EQ(bytes.find_first_not_of(' ', 10 + dict.size()), 127u);

  // A scalar is written with shape ().
  write_npy(path("s.npy"), Tensor::scalar<float>(3.f));
  r = read_npy(path("s.npy"));
  EXPECT_EQ(r.rank(), 0);
  EXPECT_EQ(r.to_vector<float>(), (std::vector<float>{3.f}));
}

TEST_F(DataTest, NpyErrorsNameTheFileAndTheProblem) {
  const std::string four(16, '\0');
  std::string p =
      write("fortran.npy", npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", four));
  expect_error([&] { read_npy(p); }, {p, "Fortran"});
  EXPECT_THROW(read_npy(p), UnsupportedError);

  p = write("complex.npy", npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", four));
  expect_error([&] { read_npy(p); }, {p, "unsupported .npy dtype '<c8'"});
  p = write("half.npy", npy_bytes("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", four));
  expect_error([&] { read_npy(p); }, {p, "'<f2'"});
  p = write("struct.npy",
            npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", four));
  expect_error([&] { read_npy(p); }, {p, "structured"});
  p = write("short.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", four));
  expect_error([&] { read_npy(p); }, {p, "truncated", "24 bytes", "has 16"});
  p = write("nomagic.npy", "PK\x03\x04 not numpy at all");
  expect_error([&] { read_npy(p); }, {p, "not a .npy file"});
  p = write("cuthdr.npy",
            npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", "").substr(0, 30));
  expect_error([&] { read_npy(p); }, {p, "truncated .npy header"});
  p = write("noshape.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False}", ""));
  expect_error([&] { read_npy(p); }, {p, "no 'shape'"});
  expect_error([&] { read_npy(path("missing.npy")); }, {"missing.npy", "cannot open"});
}

// ---- IDX -------------------------------------------------------------------------------------------------

TEST_F(DataTest, IdxPlainAndGzipReadBackWhatWasWritten) {
  const uint32_t n = 5, h = 3, w = 4;
  const std::vector<uint8_t> px = ramp(n * h * w);
  const std::vector<uint8_t> lab = {3, 1, 4, 1, 5};
  for (bool gz : {false, true}) {
    SCOPED_TRACE(gz ? "gzip" : "plain");
    DataConfig cfg;
    cfg.images = gz ? write_gz("img.gz", idx_images(n, h, w, px)) : write("img", idx_images(n, h, w, px));
    cfg.labels = gz ? write_gz("lab.gz", idx_labels(lab)) : write("lab", idx_labels(lab));
    EXPECT_EQ(is_gzip_file(cfg.images), gz);
    auto ds = open_dataset(cfg);
    EXPECT_EQ(ds->size(), 5);
    EXPECT_EQ(ds->channels(), 1);
    EXPECT_EQ(ds->height(), 3);
    EXPECT_EQ(ds->width(), 4);
    EXPECT_TRUE(ds->has_labels());
    EXPECT_EQ(ds->sample_shape(), (Shape{1, 3, 4}));
    Batch b = ds->read(0, 5);
    EXPECT_EQ(b.images.shape(), (Shape{5, 1, 3, 4}));
    EXPECT_EQ(b.labels, (std::vector<int64_t>{3, 1, 4, 1, 5}));
    const auto v = floats(b.images);
    for (size_t i = 0; i < px.size(); ++i) ASSERT_FLOAT_EQ(v[i], px[i] / 255.f) << i;
    // Random access, including backwards.
    b = ds->read(3, 2);
    EXPECT_EQ(b.labels, (std::vector<int64_t>{1, 5}));
    EXPECT_FLOAT_EQ(floats(b.images)[0], px[3 * 12] / 255.f);
    b = ds->read(1, 1);
    EXPECT_FLOAT_EQ(floats(b.images)[11], px[12 + 11] / 255.f);
  }
}

TEST_F(DataTest, IdxWithTheExactMnistHeader) {
  // The zoo's t10k files: magic 2051 / 2049, 28 x 28 images, gzip-compressed.
  const uint32_t n = 12;
  const std::vector<uint8_t> px = ramp(n * 28 * 28, 13, 5);
  std::vector<uint8_t> lab(n);
  for (uint32_t i = 0; i < n; ++i) lab[i] = static_cast<uint8_t>(i % 10);
  const std::string img = idx_images(n, 28, 28, px);
  ASSERT_EQ(img.substr(0, 16),
            std::string("\x00\x00\x08\x03\x00\x00\x00\x0c\x00\x00\x00\x1c\x00\x00\x00\x1c", 16));
  DataConfig cfg;
  cfg.images = write_gz("t10k-images-idx3-ubyte.gz", img);
  cfg.labels = write_gz("t10k-labels-idx1-ubyte.gz", idx_labels(lab));
  cfg.pre.mean = {0.5f};
  cfg.pre.stddev = {0.5f};
  auto ds = open_dataset(cfg);
  EXPECT_EQ(ds->description(), "t10k-images-idx3-ubyte.gz: IDX uint8 12 x 28 x 28 (gzip)");
  EXPECT_EQ(ds->sample_shape(), (Shape{1, 28, 28}));
  Batch b = ds->read(0, n);
  const auto v = floats(b.images);
  for (size_t i = 0; i < px.size(); ++i) ASSERT_NEAR(v[i], (px[i] / 255.f - 0.5f) / 0.5f, 1e-6f) << i;
  EXPECT_EQ(b.labels.size(), n);
  for (uint32_t i = 0; i < n; ++i) EXPECT_EQ(b.labels[i], i % 10);
  EXPECT_EQ(read_labels(cfg.labels), b.labels);
}

TEST_F(DataTest, IdxErrors) {
  const std::vector<uint8_t> px = ramp(4 * 2 * 2);
  // Bad magic.
  std::string p = write("bad", be32(0x01020304) + be32(1));
  expect_error([&] { read_idx_labels(p); }, {p, "bad magic 0x01020304"});
  // Truncated plain file: detected at open.
  DataConfig cfg;
  cfg.images = write("short", idx_images(4, 2, 2, px).substr(0, 16 + 10));
  expect_error([&] { open_dataset(cfg); }, {cfg.images, "truncated", "4 items of 2x2", "26 bytes"});
  // Truncated gzip data: detected when reading the missing items.
  cfg.images = write_gz("short.gz", idx_images(4, 2, 2, px).substr(0, 16 + 10));
  auto ds = open_dataset(cfg);
  EXPECT_NO_THROW(ds->read(0, 2));
  expect_error([&] { ds->read(2, 2); }, {cfg.images, "truncated", "item 2"});
  // A cut gzip stream (the compressed bytes end early).
  const std::string whole = path("whole.gz");
  write_gz("whole.gz", idx_images(4, 2, 2, px));
  std::ifstream in(whole, std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  cfg.images = write("cut.gz", gz.substr(0, gz.size() - 12));
  expect_error([&] { open_dataset(cfg)->read(0, 4); }, {cfg.images});
  // Label count differs from image count.
  cfg.images = write("img", idx_images(4, 2, 2, px));
  cfg.labels = write("lab", idx_labels({1, 2, 3}));
  expect_error([&] { open_dataset(cfg); }, {cfg.labels, "3 labels", cfg.images, "4 images"});
  // Images given as labels and labels as images.
  cfg.labels = cfg.images;
  expect_error([&] { open_dataset(cfg); }, {cfg.images, "1 dimension"});
  cfg.images = write("lab2", idx_labels({1, 2}));
  cfg.labels.clear();
  expect_error([&] { open_dataset(cfg); }, {cfg.images, "labels?"});
  // Non-uint8 IDX images.
  cfg.images = write("f32", be32(0x00000D03) + be32(1) + be32(1) + be32(1) + std::string(4, '\0'));
  expect_error([&] { open_dataset(cfg); }, {cfg.images, "float32", "not supported"});
  // Unknown content.
  cfg.images = write("notes.txt", "hello world");
  expect_error([&] { open_dataset(cfg); }, {cfg.images, "unrecognized data format"});
  cfg.images = path("nope.gz");
  expect_error([&] { open_dataset(cfg); }, {cfg.images, "no such file"});
}

// ---- streaming -------------------------------------------------------------------------------------------

TEST_F(DataTest, ReadingInBatchesOfSevenEqualsReadingAllAtOnce) {
  const uint32_t n = 23;
  const std::vector<uint8_t> px = ramp(n * 5 * 6, 11, 1);
  std::vector<uint8_t> lab(n);
  for (uint32_t i = 0; i < n; ++i) lab[i] = static_cast<uint8_t>((i * 7) % 10);
  std::vector<std::string> sources = {
      write_gz("img.gz", idx_images(n, 5, 6, px)),
      write("img.npy",
            npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (23, 5, 6), }", raw_bytes(px)))};
  for (uint32_t i = 0; i < n; ++i) {
    std::vector<uint8_t> one(px.begin() + i * 30, px.begin() + (i + 1) * 30);
    write_png("folder/img" + std::to_string(100 + i) + ".png", 6, 5, 1, one);
  }
  sources.push_back(path("folder"));
  for (const auto& src : sources) {
    SCOPED_TRACE(src);
    DataConfig cfg;
    cfg.images = src;
    cfg.labels = write_gz("lab.gz", idx_labels(lab));
    cfg.pre.channels = 3;  // gray → RGB
    cfg.pre.height = 10;
    cfg.pre.width = 12;
    cfg.pre.resize = ResizeMode::kStretch;
    cfg.pre.mean = {0.1f, 0.2f, 0.3f};
    cfg.pre.stddev = {0.5f};
    auto ds = open_dataset(cfg);
    const Batch all = ds->read(0, n);
    std::vector<float> joined;
    std::vector<int64_t> labels;
    std::vector<std::pair<int64_t, int64_t>> calls;
    BatchReader reader(*ds, 7, [&](int64_t done, int64_t total) {
      calls.emplace_back(done, total);
      return true;
    });
    Batch b;
    std::vector<int64_t> sizes;
    while (reader.next(b)) {
      sizes.push_back(b.images.dim(0));
      const auto v = floats(b.images);
      joined.insert(joined.end(), v.begin(), v.end());
      labels.insert(labels.end(), b.labels.begin(), b.labels.end());
    }
    EXPECT_EQ(sizes, (std::vector<int64_t>{7, 7, 7, 2}));
    EXPECT_EQ(joined, floats(all.images));
    EXPECT_EQ(labels, all.labels);
    EXPECT_EQ(calls,
              (std::vector<std::pair<int64_t, int64_t>>{{0, 23}, {7, 23}, {14, 23}, {21, 23}, {23, 23}}));
    // Every source gives the same preprocessed data: gray replicated, normalized per channel.
    const auto v = floats(all.images);
    ASSERT_EQ(v.size(), size_t{n} * 3 * 10 * 12);
    for (int c = 0; c < 3; ++c) {
      // Pixel (0, 0) of sample 4 maps to source pixel (0, 0) (the half-pixel formula clamps at the edge).
      const float x = px[4 * 30] / 255.f;
      EXPECT_NEAR(v[(4 * 3 + c) * 120], (x - 0.1f * (c + 1)) / 0.5f, 1e-6f);
    }
  }
  // The three sources agree with one another.
  std::vector<std::vector<float>> outs;
  for (const auto& src : sources) {
    DataConfig cfg;
    cfg.images = src;
    outs.push_back(floats(open_dataset(cfg)->read(0, n).images));
  }
  EXPECT_EQ(outs[0], outs[1]);
  EXPECT_EQ(outs[0], outs[2]);
}

TEST_F(DataTest, LimitAndCancel) {
  const std::vector<uint8_t> px = ramp(30 * 4);
  DataConfig cfg;
  cfg.images = write("img", idx_images(30, 2, 2, px));
  cfg.limit = 20;
  auto ds = open_dataset(cfg);
  EXPECT_EQ(ds->size(), 20);
  EXPECT_FALSE(ds->has_labels());
  EXPECT_TRUE(ds->read(0, 20).labels.empty());
  expect_error([&] { ds->read(15, 6); }, {"out of range"});
  int calls = 0;
  BatchReader reader(*ds, 7, [&](int64_t, int64_t) { return ++calls < 2; });
  Batch b;
  EXPECT_TRUE(reader.next(b));
  EXPECT_THROW(reader.next(b), CancelledError);
  EXPECT_EQ(reader.done(), 7);
  cfg.limit = 0;
  auto none = open_dataset(cfg);
  BatchReader empty(*none, 4);
  EXPECT_FALSE(empty.next(b));
  expect_error([&] { BatchReader(*ds, 0); }, {"batch size"});
}

// ---- preprocessing ---------------------------------------------------------------------------------------

RawImage image_of(int64_t c, int64_t h, int64_t w, std::vector<float> v) {
  RawImage img(c, h, w);
  img.data = std::move(v);
  return img;
}

TEST(DataPreprocess, BilinearResizeHalfPixel) {
  // 2x2 [[0, 4], [8, 12]] to 4x4: source coordinates (o + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25,
  // 0.75, 1.25 (past the last pixel: the edge value), i.e. weights 0, 0.25, 0.75, 1 of the second pixel.
  const RawImage r = resize_bilinear(image_of(1, 2, 2, {0, 4, 8, 12}), 4, 4);
  EXPECT_EQ(r.data, (std::vector<float>{0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12}));
  // 4x4 to 2x2: source coordinates 0.5 and 2.5, the average of each 2x2 block.
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i * i);
  const RawImage d = resize_bilinear(image_of(1, 4, 4, v), 2, 2);
  EXPECT_EQ(d.data, (std::vector<float>{(0 + 1 + 16 + 25) / 4.f, (4 + 9 + 36 + 49) / 4.f,
                                        (64 + 81 + 144 + 169) / 4.f, (100 + 121 + 196 + 225) / 4.f}));
  // 1x3 to 1x2 per channel: coordinates 0.25 and 1.75.
  const RawImage c = resize_bilinear(image_of(2, 1, 3, {0, 10, 20, 1, 2, 3}), 1, 2);
  EXPECT_EQ(c.data, (std::vector<float>{2.5f, 17.5f, 1.25f, 2.75f}));
}

TEST(DataPreprocess, ChannelsCropAndNormalize) {
  // Gray → RGB replicates; RGB → gray uses 0.299, 0.587, 0.114; RGBA drops alpha.
  EXPECT_EQ(convert_channels(image_of(1, 1, 2, {5, 9}), 3).data, (std::vector<float>{5, 9, 5, 9, 5, 9}));
  const RawImage g = convert_channels(image_of(3, 1, 1, {100, 50, 200}), 1);
  EXPECT_NEAR(g.data[0], 0.299f * 100 + 0.587f * 50 + 0.114f * 200, 1e-4f);
  EXPECT_EQ(convert_channels(image_of(4, 1, 1, {1, 2, 3, 255}), 3).data, (std::vector<float>{1, 2, 3}));
  EXPECT_THROW(convert_channels(image_of(3, 1, 1, {1, 2, 3}), 2), Error);

  // Center crop: the offset is round((in - out) / 2), ties to even: 5 → 2 starts at 2 (1.5 → 2), 3 → 2 at 0.
  const RawImage row = image_of(1, 1, 5, {0, 1, 2, 3, 4});
  EXPECT_EQ(center_crop(row, 1, 2).data, (std::vector<float>{2, 3}));
  EXPECT_EQ(center_crop(image_of(1, 1, 3, {0, 1, 2}), 1, 2).data, (std::vector<float>{0, 1}));
  EXPECT_THROW(center_crop(row, 2, 2), Error);

  // Full pipeline on a 2x2 RGB image: BGR order, per-channel mean/std given in output (BGR) order.
  Preprocess pre;
  pre.channel_order = ChannelOrder::kBGR;
  pre.mean = {0.1f, 0.2f, 0.3f};
  pre.stddev = {0.5f, 0.25f, 2.f};
  const PreparedPreprocess p = prepare_preprocess(pre, 3, 2, 2, true);
  EXPECT_FLOAT_EQ(p.scale, 1.f / 255.f);
  const RawImage rgb = image_of(3, 2, 2, {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120});
  std::vector<float> out(12);
  preprocess_image(rgb, p, out.data(), "x");
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 4; ++i) {
      const float src = rgb.data[static_cast<size_t>((2 - c) * 4 + i)];
      EXPECT_NEAR(out[static_cast<size_t>(c * 4 + i)], (src / 255.f - pre.mean[c]) / pre.stddev[c], 1e-6f);
    }

  // Shorter side then crop: a 4x8 image, shorter side to 2 → 2x4, center crop 2x2 takes columns 1..2.
  Preprocess s;
  s.height = s.width = 2;
  s.resize = ResizeMode::kShorterSide;
  s.scale = 1.f;
  std::vector<float> v(32);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 8; ++x) v[static_cast<size_t>(y * 8 + x)] = static_cast<float>(x);
  std::vector<float> o(4);
  preprocess_image(image_of(1, 4, 8, v), prepare_preprocess(s, 1, 4, 8, true), o.data(), "x");
  // Columns of the 2x4 resize sample x = 0.5, 2.5, 4.5, 6.5; the crop keeps 2.5 and 4.5.
  EXPECT_EQ(o, (std::vector<float>{2.5f, 4.5f, 2.5f, 4.5f}));
}

TEST(DataPreprocess, ConfigurationErrors) {
  Preprocess pre;
  pre.mean = {0.1f, 0.2f};
  expect_error([&] { prepare_preprocess(pre, 3, 4, 4, true); }, {"mean has 2 values", "3 channels"});
  pre.mean = {0.f};
  pre.stddev = {1.f, 1.f, 1.f, 1.f};
  expect_error([&] { prepare_preprocess(pre, 1, 4, 4, true); }, {"std has 4 values", "1 channels"});
  pre.stddev = {0.f};
  expect_error([&] { prepare_preprocess(pre, 1, 4, 4, true); }, {"non-zero"});
  pre.stddev = {1.f};
  pre.channels = 2;
  expect_error([&] { prepare_preprocess(pre, 3, 4, 4, true); }, {"3 channels", "has 2"});
  pre.channels = 0;
  pre.resize = ResizeMode::kStretch;
  pre.resize_height = pre.resize_width = 8;
  pre.height = pre.width = 4;
  expect_error([&] { prepare_preprocess(pre, 1, 4, 4, true); }, {"center crop"});
  pre.center_crop = true;
  EXPECT_NO_THROW(prepare_preprocess(pre, 1, 4, 4, true));
  pre.resize = ResizeMode::kShorterSide;
  pre.resize_shorter = 3;
  expect_error([&] { prepare_preprocess(pre, 1, 4, 4, true); }, {"too small"});
  // A size mismatch without resize names the sample.
  Preprocess none;
  none.height = none.width = 3;
  std::vector<float> out(9);
  expect_error(
      [&] {
        preprocess_image(RawImage(1, 2, 2), prepare_preprocess(none, 1, 2, 2, true), out.data(), "a.png");
      },
      {"a.png", "2x2", "3x3", "resize"});
}

// ---- .npy and image-folder datasets -----------------------------------------------------------------------

TEST_F(DataTest, NpyDatasetLayoutsAndDtypes) {
  // NHWC uint8 (N=2, H=2, W=3, C=3): detected from the trailing 3.
  const std::vector<uint8_t> px = ramp(2 * 2 * 3 * 3);
  DataConfig cfg;
  cfg.images =
      write("nhwc.npy",
            npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 3, 3), }", raw_bytes(px)));
  auto ds = open_dataset(cfg);
  EXPECT_EQ(ds->channels(), 3);
  EXPECT_EQ(ds->sample_shape(), (Shape{3, 2, 3}));
  auto v = floats(ds->read(0, 2).images);
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x)
          ASSERT_FLOAT_EQ(v[static_cast<size_t>(((n * 3 + c) * 2 + y) * 3 + x)],
                          px[static_cast<size_t>(((n * 2 + y) * 3 + x) * 3 + c)] / 255.f);
  // Forced NCHW reads the same bytes as 2 x 2 x 3 x 3 planar.
  cfg.npy_layout = NpyLayout::kNCHW;
  ds = open_dataset(cfg);
  EXPECT_EQ(ds->channels(), 2);

  // float32 NCHW: scale defaults to 1.
  const std::vector<float> f = {0.5f, -1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f};
  cfg = {};
  cfg.images = write(
      "f.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 2, 2), }", raw_bytes(f)));
  EXPECT_EQ(floats(open_dataset(cfg)->read(0, 2).images), f);
  // float64 and int8 are converted.
  const std::vector<double> d = {0.25, -8, 1e3, 2};
  cfg.images = write(
      "d.npy", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 2), }", raw_bytes(d)));
  EXPECT_EQ(floats(open_dataset(cfg)->read(0, 1).images), (std::vector<float>{0.25f, -8.f, 1000.f, 2.f}));
  cfg.images = write("i8.npy",
                     npy_bytes("{'descr': '|i1', 'fortran_order': False, 'shape': (1, 1, 2), }", "\x80\x05"));
  EXPECT_EQ(floats(open_dataset(cfg)->read(0, 1).images), (std::vector<float>{-128.f, 5.f}));

  // Labels from .npy: int64 (N), int32 (N, 1); floats and (N, 2) are refused.
  cfg.labels = write("l.npy", npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }",
                                        raw_bytes(std::vector<int64_t>{9})));
  EXPECT_EQ(open_dataset(cfg)->read(0, 1).labels, (std::vector<int64_t>{9}));
  cfg.labels = write("l2.npy", npy_bytes("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1), }",
                                         raw_bytes(std::vector<int32_t>{4})));
  EXPECT_EQ(open_dataset(cfg)->labels(), (std::vector<int64_t>{4}));
  cfg.labels = write("lf.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                                         raw_bytes(std::vector<float>{1})));
  expect_error([&] { open_dataset(cfg); }, {cfg.labels, "integers", "float32"});
  cfg.labels = write("lw.npy", npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }",
                                         raw_bytes(std::vector<int64_t>{1, 2})));
  expect_error([&] { open_dataset(cfg); }, {cfg.labels, "(N) or (N, 1)", "[1, 2]"});
  cfg.labels = write("l3.npy", npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                                         raw_bytes(std::vector<int64_t>{1, 2, 3})));
  expect_error([&] { open_dataset(cfg); }, {cfg.labels, "3 labels", "1 images"});
  // Wrong ranks and dtypes for images.
  cfg.labels.clear();
  cfg.images = write("flat.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                                           raw_bytes(std::vector<float>{1, 2})));
  expect_error([&] { open_dataset(cfg); }, {cfg.images, "3-D", "[2]"});
  cfg.images = write(
      "fo.npy", npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2, 2), }", raw_bytes(f)));
  expect_error([&] { open_dataset(cfg); }, {cfg.images, "Fortran"});
  cfg.images = write(
      "c.npy", npy_bytes("{'descr': '<c16', 'fortran_order': False, 'shape': (1, 1, 1), }", raw_bytes(d)));
  expect_error([&] { open_dataset(cfg); }, {cfg.images, "'<c16'"});
}

TEST_F(DataTest, ImageFolderWithClassSubfolders) {
  // Classes "cat" < "dog" < "zebra" (sorted by name, not by creation order); gray, RGB and RGBA files.
  write_png("data/zebra/b.png", 2, 1, 3, {10, 20, 30, 40, 50, 60});
  write_png("data/dog/x.png", 2, 1, 1, {200, 100});
  write_png("data/cat/2.png", 2, 1, 4, {1, 2, 3, 0, 4, 5, 6, 255});
  write_png("data/cat/1.png", 2, 1, 3, {7, 8, 9, 10, 11, 12});
  write_png("data/cat/sub/0.png", 2, 1, 3, {13, 14, 15, 16, 17, 18});  // after cat/'s own files
  write("data/dog/readme.txt", "not an image");
  write_png("data/.hidden/h.png", 2, 1, 3, {0, 0, 0, 0, 0, 0});
  DataConfig cfg;
  cfg.images = path("data");
  cfg.pre.scale = 1.f;
  auto ds = open_dataset(cfg);
  EXPECT_EQ(ds->class_names(), (std::vector<std::string>{"cat", "dog", "zebra"}));
  EXPECT_EQ(ds->size(), 5);
  EXPECT_TRUE(ds->has_labels());
  EXPECT_EQ(ds->labels(), (std::vector<int64_t>{0, 0, 0, 1, 2}));
  EXPECT_EQ(ds->sample_name(0), path("data/cat/1.png"));
  EXPECT_EQ(ds->sample_name(2), path("data/cat/sub/0.png"));
  EXPECT_EQ(ds->sample_shape(), (Shape{3, 1, 2}));  // from the first image, RGB
  const auto v = floats(ds->read(0, 5).images);
  // Planar per sample: R0 R1 G0 G1 B0 B1.
  EXPECT_EQ(std::vector<float>(v.begin(), v.begin() + 6), (std::vector<float>{7, 10, 8, 11, 9, 12}));
  EXPECT_EQ(std::vector<float>(v.begin() + 6, v.begin() + 12),
            (std::vector<float>{1, 4, 2, 5, 3, 6}));  // RGBA
  EXPECT_EQ(std::vector<float>(v.begin() + 18, v.begin() + 24),
            (std::vector<float>{200, 100, 200, 100, 200, 100}));
  EXPECT_EQ(std::vector<float>(v.begin() + 24, v.begin() + 30), (std::vector<float>{10, 40, 20, 50, 30, 60}));

  // As a 1-channel model input: RGB → luma.
  cfg.pre.channels = 1;
  const auto g = floats(open_dataset(cfg)->read(4, 1).images);
  EXPECT_NEAR(g[0], 0.299f * 10 + 0.587f * 20 + 0.114f * 30, 1e-4f);

  // A labels file as well as class folders is ambiguous.
  cfg.labels = write(
      "l.npy", npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }", std::string(40, '\0')));
  expect_error([&] { open_dataset(cfg); }, {cfg.labels, "class subfolders"});
}

TEST_F(DataTest, FlatFolderSingleImageAndJpeg) {
  write_png("flat/b.png", 3, 2, 1, {1, 2, 3, 4, 5, 6});
  write_png("flat/a.png", 3, 2, 1, {6, 5, 4, 3, 2, 1});
  DataConfig cfg;
  cfg.images = path("flat");
  cfg.pre.scale = 1.f;
  auto ds = open_dataset(cfg);
  EXPECT_FALSE(ds->has_labels());
  EXPECT_EQ(ds->size(), 2);
  EXPECT_EQ(floats(ds->read(0, 2).images), (std::vector<float>{6, 5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 6}));
  // Labels for a flat folder follow the sorted file names.
  cfg.labels = write("l.gz", idx_labels({7, 8}));
  EXPECT_EQ(open_dataset(cfg)->read(1, 1).labels, (std::vector<int64_t>{8}));

  // One image file is a dataset of one.
  cfg = {};
  cfg.images = path("flat/b.png");
  ds = open_dataset(cfg);
  EXPECT_EQ(ds->size(), 1);
  EXPECT_NEAR(floats(ds->read(0, 1).images)[5], 6 / 255.f, 1e-7f);

  // A uniform JPEG decodes to (nearly) its colour.
  const std::string jpg = path("flat2/c.jpg");
  fs::create_directories(path("flat2"));
  std::vector<uint8_t> px(8 * 8 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = i % 3 == 0 ? 200 : i % 3 == 1 ? 100 : 50;
  ASSERT_NE(stbi_write_jpg(jpg.c_str(), 8, 8, 3, px.data(), 100), 0);
  cfg.images = path("flat2");
  cfg.pre.scale = 1.f;
  const auto v = floats(open_dataset(cfg)->read(0, 1).images);
  ASSERT_EQ(v.size(), 3u * 64);
  EXPECT_NEAR(v[0], 200, 3);
  EXPECT_NEAR(v[64], 100, 3);
  EXPECT_NEAR(v[128], 50, 3);
}

TEST_F(DataTest, ImageFolderErrors) {
  DataConfig cfg;
  // Unreadable image: named with its path.
  write_png("bad/a.png", 2, 2, 1, {1, 2, 3, 4});
  const std::string broken = write("bad/b.png", "\x89PNG\r\n\x1a\n garbage");
  cfg.images = path("bad");
  auto ds = open_dataset(cfg);
  expect_error([&] { ds->read(0, 2); }, {broken, "cannot read image"});
  // Sizes differ and no resize is set: the odd image is named.
  write_png("sizes/a.png", 2, 2, 1, {1, 2, 3, 4});
  const std::string big = write_png("sizes/b.png", 3, 2, 1, {1, 2, 3, 4, 5, 6});
  cfg.images = path("sizes");
  expect_error([&] { open_dataset(cfg)->read(0, 2); }, {big, "2x3", "2x2", "resize"});
  cfg.pre.resize = ResizeMode::kStretch;
  EXPECT_EQ(open_dataset(cfg)->read(0, 2).images.shape(), (Shape{2, 1, 2, 2}));
  cfg.pre = {};
  // Empty folder, empty class folder, mixed layout.
  fs::create_directories(path("empty"));
  cfg.images = path("empty");
  expect_error([&] { open_dataset(cfg); }, {cfg.images, "no images"});
  write_png("classes/a/x.png", 1, 1, 1, {0});
  fs::create_directories(path("classes/b"));
  cfg.images = path("classes");
  expect_error([&] { open_dataset(cfg); }, {path("classes/b"), "no images"});
  write_png("mixed/a/x.png", 1, 1, 1, {0});
  write_png("mixed/y.png", 1, 1, 1, {0});
  cfg.images = path("mixed");
  expect_error([&] { open_dataset(cfg); }, {cfg.images, "both class subfolders and image files", "y.png"});
  // Mean/std not matching the channel count is reported with the data path.
  cfg.images = path("sizes/a.png");
  cfg.pre.mean = {0.f, 0.f};
  expect_error([&] { open_dataset(cfg); }, {cfg.images, "mean has 2 values", "1 channels"});
}

}  // namespace
}  // namespace qs
