// IDX files, the format of MNIST and Fashion-MNIST, plain or gzip-compressed.
//
// Layout: a 4-byte big-endian magic 0x0000TTNN (TT the element type: 0x08 uint8, 0x09 int8, 0x0B int16,
// 0x0C int32, 0x0D float32, 0x0E float64; NN the number of dimensions), NN big-endian uint32 extents, then
// the elements in row-major order, big-endian. MNIST images are 0x00000803 (uint8, N × 28 × 28) and labels
// 0x00000801 (uint8, N). A file is gzip-compressed when it starts with the bytes 1f 8b; both kinds are read
// through zlib's gz* streaming functions, so only the requested items are ever decompressed and held.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct gzFile_s;  // zlib's stream type; zlib.h stays out of this header

namespace qs {

// True when the file starts with the gzip magic bytes 1f 8b. Throws Error when it cannot be opened.
bool is_gzip_file(const std::string& path);

// Reads up to `n` bytes from the start of the file, decompressing it when it is gzip. Used to detect the
// format by content rather than by name.
std::string peek_file(const std::string& path, size_t n);

// An open IDX file whose items (slices along the first axis) are read on demand.
// Not thread-safe: reads move the file position.
class IdxFile {
 public:
  explicit IdxFile(const std::string& path);
  IdxFile(const IdxFile&) = delete;
  IdxFile& operator=(const IdxFile&) = delete;

  const std::string& path() const { return path_; }
  bool gzip() const { return gzip_; }
  uint8_t type_code() const { return type_; }
  size_t element_size() const { return elem_size_; }
  const std::vector<int64_t>& dims() const { return dims_; }
  int64_t count() const { return dims_[0]; }
  int64_t item_bytes() const { return item_bytes_; }

  // Reads items [begin, begin + n) into `out` (n * item_bytes() bytes, elements big-endian as stored).
  // Sequential reads never seek; a backward jump in a gzip file restarts decompression from the start.
  // Throws Error naming the file when the data ends early or is corrupt.
  void read(int64_t begin, int64_t n, void* out);

 private:
  struct GzClose {
    void operator()(gzFile_s* f) const;
  };
  std::string path_;
  std::unique_ptr<gzFile_s, GzClose> gz_;
  bool gzip_ = false;
  uint8_t type_ = 0;
  size_t elem_size_ = 0;
  std::vector<int64_t> dims_;
  int64_t header_bytes_ = 0;
  int64_t item_bytes_ = 0;
  int64_t pos_ = 0;  // index of the next item the stream will deliver
};

// Reads a whole 1-D IDX file of integers (uint8, int8, int16 or int32) as labels.
std::vector<int64_t> read_idx_labels(const std::string& path);

// Human-readable name of an IDX element type code ("uint8", "float32", ...).
std::string idx_type_name(uint8_t code);

}  // namespace qs
