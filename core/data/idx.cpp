#include "core/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <filesystem>

#include "core/common/error.h"

namespace qs {

namespace {

size_t idx_element_size(uint8_t code) {
  switch (code) {
    case 0x08:
    case 0x09:
      return 1;
    case 0x0B:
      return 2;
    case 0x0C:
    case 0x0D:
      return 4;
    case 0x0E:
      return 8;
    default:
      return 0;
  }
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

std::string dims_str(const std::vector<int64_t>& d, size_t from) {
  std::string s;
  for (size_t i = from; i < d.size(); ++i) {
    if (i > from) s += 'x';
    s += std::to_string(d[i]);
  }
  return s.empty() ? "scalar" : s;
}

uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

std::string idx_type_name(uint8_t code) {
  switch (code) {
    case 0x08:
      return "uint8";
    case 0x09:
      return "int8";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default: {
      char buf[8];
      std::snprintf(buf, sizeof buf, "0x%02X", code);
      return std::string("unknown type ") + buf;
    }
  }
}

bool is_gzip_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(path + ": cannot open file");
  unsigned char b[2] = {0, 0};
  const size_t n = std::fread(b, 1, 2, f);
  std::fclose(f);
  return n == 2 && b[0] == 0x1f && b[1] == 0x8b;
}

std::string peek_file(const std::string& path, size_t n) {
  // gzopen reads files that are not gzip transparently, as they are.
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(path + ": cannot open file");
  std::string buf(n, '\0');
  const int got = gzread(f, buf.data(), static_cast<unsigned>(n));
  gzclose(f);
  buf.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return buf;
}

IdxFile::IdxFile(const std::string& path) : path_(path) {
  gzip_ = is_gzip_file(path);
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(path + ": cannot open file");
  gz_.reset(f);
  gzbuffer(f, 1 << 17);

  unsigned char head[4];
  if (gzread(f, head, 4) != 4) throw Error(path + ": not an IDX file (shorter than the 4-byte magic)");
  const uint32_t magic = be32(head);
  type_ = head[2];
  elem_size_ = idx_element_size(type_);
  const int ndim = head[3];
  if (head[0] != 0 || head[1] != 0 || elem_size_ == 0 || ndim == 0)
    throw Error(path + ": not an IDX file (bad magic " + hex32(magic) +
                "; MNIST images start with 0x00000803 and labels with 0x00000801)");

  std::vector<unsigned char> raw(4 * static_cast<size_t>(ndim));
  if (gzread(f, raw.data(), static_cast<unsigned>(raw.size())) != static_cast<int>(raw.size()))
    throw Error(path + ": truncated IDX file (the header announces " + std::to_string(ndim) +
                " dimensions but the file ends before them)");
  for (int i = 0; i < ndim; ++i) dims_.push_back(be32(&raw[4 * static_cast<size_t>(i)]));
  header_bytes_ = 4 + 4 * static_cast<int64_t>(ndim);
  item_bytes_ = static_cast<int64_t>(elem_size_);
  for (size_t i = 1; i < dims_.size(); ++i) item_bytes_ *= dims_[i];
  pos_ = 0;

  if (!gzip_) {
    // A plain file's length is known up front, so truncation is reported at open.
    const auto size = static_cast<int64_t>(std::filesystem::file_size(path));
    const int64_t need = header_bytes_ + count() * item_bytes_;
    if (size < need)
      throw Error(path + ": truncated IDX file: the header announces " + std::to_string(count()) +
                  " items of " + dims_str(dims_, 1) + " " + idx_type_name(type_) + " (" +
                  std::to_string(need) + " bytes) but the file has " + std::to_string(size) + " bytes");
  }
}

void IdxFile::GzClose::operator()(gzFile_s* f) const { gzclose(f); }

void IdxFile::read(int64_t begin, int64_t n, void* out) {
  if (begin < 0 || n < 0 || begin + n > count())
    throw Error(path_ + ": items [" + std::to_string(begin) + ", " + std::to_string(begin + n) +
                ") are out of range (the file has " + std::to_string(count()) + ")");
  if (n == 0) return;
  gzFile f = gz_.get();
  if (begin != pos_) {
    if (gzseek(f, static_cast<z_off_t>(header_bytes_ + begin * item_bytes_), SEEK_SET) < 0) {
      int err = 0;
      throw Error(path_ + ": cannot seek to item " + std::to_string(begin) + ": " + gzerror(f, &err));
    }
    pos_ = begin;
  }
  auto* dst = static_cast<unsigned char*>(out);
  int64_t left = n * item_bytes_;
  while (left > 0) {
    const unsigned chunk = static_cast<unsigned>(std::min<int64_t>(left, INT_MAX / 2));
    const int got = gzread(f, dst, chunk);
    if (got <= 0) {
      int err = Z_OK;
      const char* msg = gzerror(f, &err);
      const int64_t done_bytes = n * item_bytes_ - left;
      const int64_t at_item = begin + done_bytes / item_bytes_;
      pos_ = -1;  // unknown: force a seek next time
      if (err != Z_OK && err != Z_BUF_ERROR)
        throw Error(path_ + ": corrupt gzip data while reading item " + std::to_string(at_item) + ": " + msg);
      throw Error(path_ + ": truncated IDX file: the header announces " + std::to_string(count()) +
                  " items of " + dims_str(dims_, 1) + " " + idx_type_name(type_) +
                  " but the data ends in item " + std::to_string(at_item));
    }
    dst += got;
    left -= got;
  }
  pos_ = begin + n;
}

std::vector<int64_t> read_idx_labels(const std::string& path) {
  IdxFile f(path);
  if (f.dims().size() != 1)
    throw Error(path + ": an IDX labels file has 1 dimension (magic 0x00000801); this one has " +
                std::to_string(f.dims().size()) + " (" + dims_str(f.dims(), 0) + ")");
  const uint8_t t = f.type_code();
  if (t == 0x0D || t == 0x0E)
    throw Error(path + ": labels must be integers; this IDX file holds " + idx_type_name(t));
  std::vector<unsigned char> raw(static_cast<size_t>(f.count() * f.item_bytes()));
  f.read(0, f.count(), raw.data());
  std::vector<int64_t> labels(static_cast<size_t>(f.count()));
  const size_t es = f.element_size();
  for (size_t i = 0; i < labels.size(); ++i) {
    const unsigned char* p = &raw[i * es];
    switch (t) {
      case 0x08:
        labels[i] = p[0];
        break;
      case 0x09:
        labels[i] = static_cast<int8_t>(p[0]);
        break;
      case 0x0B:
        labels[i] = static_cast<int16_t>((p[0] << 8) | p[1]);
        break;
      default:
        labels[i] = static_cast<int32_t>(be32(p));
        break;
    }
  }
  return labels;
}

}  // namespace qs
