#include "core/data/npy.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <vector>

#include "core/common/error.h"

namespace qs {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kAlign = 64;  // NumPy pads headers so the data is 64-byte aligned

// A value of the header dict: a string, a bool, or a tuple of integers.
struct PyValue {
  enum class Kind { String, Bool, Tuple } kind = Kind::String;
  std::string s;
  bool b = false;
  std::vector<int64_t> ints;
};

// Recursive-descent parser for the small subset of Python literals that .npy headers use.
class DictParser {
 public:
  DictParser(const std::string& text, const std::string& path) : t_(text), path_(path) {}

  std::map<std::string, PyValue> parse() {
    std::map<std::string, PyValue> out;
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') {
        ++i_;
        break;
      }
      std::string key = parse_string();
      expect(':');
      out[key] = parse_value(key);
      skip_ws();
      if (peek() == ',') {
        ++i_;
      } else if (peek() == '}') {
        ++i_;
        break;
      } else {
        fail("expected ',' or '}'");
      }
    }
    return out;
  }

 private:
  char peek() const { return i_ < t_.size() ? t_[i_] : '\0'; }
  void skip_ws() {
    while (i_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[i_]))) ++i_;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(path_ + ": malformed .npy header (" + what + " at offset " + std::to_string(i_) + " of \"" +
                t_ + "\")");
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  std::string parse_string() {
    skip_ws();
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    const size_t end = t_.find(q, i_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string s = t_.substr(i_ + 1, end - i_ - 1);
    i_ = end + 1;
    return s;
  }
  int64_t parse_int() {
    skip_ws();
    const size_t start = i_;
    while (std::isdigit(static_cast<unsigned char>(peek()))) ++i_;
    if (i_ == start) fail("expected a non-negative integer");
    const std::string digits = t_.substr(start, i_ - start);
    if (digits.size() > 18) fail("extent " + digits + " is too large");
    if (peek() == 'L') ++i_;  // Python 2 long suffix, found in old files
    return std::stoll(digits);
  }
  PyValue parse_value(const std::string& key) {
    skip_ws();
    PyValue v;
    const char c = peek();
    if (c == '\'' || c == '"') {
      v.kind = PyValue::Kind::String;
      v.s = parse_string();
    } else if (t_.compare(i_, 4, "True") == 0) {
      v.kind = PyValue::Kind::Bool;
      v.b = true;
      i_ += 4;
    } else if (t_.compare(i_, 5, "False") == 0) {
      v.kind = PyValue::Kind::Bool;
      i_ += 5;
    } else if (c == '(') {
      v.kind = PyValue::Kind::Tuple;
      ++i_;
      while (true) {
        skip_ws();
        if (peek() == ')') {
          ++i_;
          break;
        }
        v.ints.push_back(parse_int());
        skip_ws();
        if (peek() == ',') {
          ++i_;
        } else if (peek() != ')') {
          fail("expected ',' or ')' in the shape tuple");
        }
      }
    } else if (c == '[') {
      throw UnsupportedError(path_ + ": structured .npy dtypes (a list as '" + key + "') are not supported");
    } else {
      fail("unexpected value for '" + key + "'");
    }
    return v;
  }

  const std::string& t_;
  const std::string& path_;
  size_t i_ = 0;
};

// Maps a descr such as "<f4" to a dtype and byte order. Throws UnsupportedError for other types.
std::pair<DType, bool> parse_descr(const std::string& descr, const std::string& path) {
  auto unsupported = [&]() -> UnsupportedError {
    return UnsupportedError(path + ": unsupported .npy dtype '" + descr +
                            "' (supported: float32, float64, int8/16/32/64, uint8/16/32/64, bool)");
  };
  if (descr.size() < 3) throw unsupported();
  const char order = descr[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') throw unsupported();
  const std::string code = descr.substr(1);
  static const std::map<std::string, DType> kCodes = {
      {"f4", DType::Float32}, {"f8", DType::Float64}, {"i1", DType::Int8},  {"u1", DType::UInt8},
      {"i2", DType::Int16},   {"u2", DType::UInt16},  {"i4", DType::Int32}, {"u4", DType::UInt32},
      {"i8", DType::Int64},   {"u8", DType::UInt64},  {"b1", DType::Bool},
  };
  auto it = kCodes.find(code);
  if (it == kCodes.end()) throw unsupported();
  // '=' is native order; the engine only targets little-endian machines.
  return {it->second, order == '>' && dtype_size(it->second) > 1};
}

std::string descr_of(DType t) {
  switch (t) {
    case DType::Float32:
      return "<f4";
    case DType::Float64:
      return "<f8";
    case DType::Int8:
      return "|i1";
    case DType::UInt8:
      return "|u1";
    case DType::Int16:
      return "<i2";
    case DType::UInt16:
      return "<u2";
    case DType::Int32:
      return "<i4";
    case DType::UInt32:
      return "<u4";
    case DType::Int64:
      return "<i8";
    case DType::UInt64:
      return "<u8";
    case DType::Bool:
      return "|b1";
    default:
      throw UnsupportedError("cannot write tensors of type " + dtype_name(t) + " to .npy");
  }
}

uint32_t read_le(const unsigned char* p, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

void byteswap_elements(void* data, int64_t count, size_t elem_size) {
  if (elem_size <= 1) return;
  auto* p = static_cast<unsigned char*>(data);
  for (int64_t i = 0; i < count; ++i, p += elem_size) std::reverse(p, p + elem_size);
}

NpyHeader parse_npy_header_dict(const std::string& dict, const std::string& path) {
  const auto fields = DictParser(dict, path).parse();
  auto get = [&](const char* key, PyValue::Kind kind) -> const PyValue& {
    auto it = fields.find(key);
    if (it == fields.end()) throw Error(path + ": .npy header has no '" + key + "' (header: " + dict + ")");
    if (it->second.kind != kind) throw Error(path + ": .npy header field '" + key + "' has the wrong type");
    return it->second;
  };
  NpyHeader h;
  h.descr = get("descr", PyValue::Kind::String).s;
  if (get("fortran_order", PyValue::Kind::Bool).b)
    throw UnsupportedError(
        path +
        ": .npy array is stored in Fortran (column-major) order; only C order is supported "
        "(save it with np.save(path, np.ascontiguousarray(a)))");
  h.shape = get("shape", PyValue::Kind::Tuple).ints;
  std::tie(h.dtype, h.big_endian) = parse_descr(h.descr, path);
  return h;
}

NpyHeader read_npy_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  unsigned char pre[12];
  in.read(reinterpret_cast<char*>(pre), 10);
  if (in.gcount() < 10 || std::memcmp(pre, kMagic, kMagicLen) != 0)
    throw Error(path + ": not a .npy file (missing the \\x93NUMPY magic)");
  const int major = pre[6];
  int len_bytes = 0;
  if (major == 1) {
    len_bytes = 2;
  } else if (major == 2 || major == 3) {
    len_bytes = 4;
    in.read(reinterpret_cast<char*>(pre + 10), 2);
    if (in.gcount() < 2) throw Error(path + ": truncated .npy header");
  } else {
    throw UnsupportedError(path + ": unsupported .npy format version " + std::to_string(major) + "." +
                           std::to_string(pre[7]));
  }
  const uint32_t hlen = read_le(pre + 8, len_bytes);
  std::string dict(hlen, '\0');
  in.read(dict.data(), hlen);
  if (static_cast<uint32_t>(in.gcount()) != hlen)
    throw Error(path + ": truncated .npy header (announces " + std::to_string(hlen) + " bytes)");
  NpyHeader h = parse_npy_header_dict(dict, path);
  h.data_offset = 8 + len_bytes + static_cast<int64_t>(hlen);

  const uint64_t need = static_cast<uint64_t>(numel(h.shape)) * dtype_size(h.dtype);
  const uint64_t have = std::filesystem::file_size(path) - static_cast<uint64_t>(h.data_offset);
  if (have < need)
    throw Error(path + ": truncated .npy file: shape " + shape_str(h.shape) + " of " + dtype_name(h.dtype) +
                " needs " + std::to_string(need) + " bytes of data but the file has " + std::to_string(have));
  return h;
}

Tensor read_npy(const std::string& path) {
  const NpyHeader h = read_npy_header(path);
  Tensor t(h.dtype, h.shape);
  std::ifstream in(path, std::ios::binary);
  in.seekg(h.data_offset);
  in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  if (static_cast<size_t>(in.gcount()) != t.nbytes()) throw Error(path + ": read error in .npy data");
  if (h.big_endian) byteswap_elements(t.raw(), t.numel(), dtype_size(h.dtype));
  if (h.dtype == DType::Bool) {
    // A C++ bool must be 0 or 1; NumPy writes exactly that, but normalize any other byte defensively.
    auto* b = static_cast<unsigned char*>(t.raw());
    for (int64_t i = 0; i < t.numel(); ++i) b[i] = b[i] != 0;
  }
  return t;
}

void write_npy(const std::string& path, const Tensor& t) {
  if (!t.defined()) throw Error(path + ": cannot write an undefined tensor");
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) {
    if (i) shape += ", ";
    shape += std::to_string(t.shape()[i]);
  }
  if (t.shape().size() == 1) shape += ",";
  shape += ")";
  std::string dict =
      "{'descr': '" + descr_of(t.dtype()) + "', 'fortran_order': False, 'shape': " + shape + ", }";

  // Pad with spaces so magic + version + length + dict + '\n' is a multiple of kAlign.
  // Version 1.0 stores the header length in 16 bits; a longer header (a rank in the thousands) needs 2.0.
  auto padded_total = [&](size_t prefix) {
    return ((prefix + dict.size() + 1 + kAlign - 1) / kAlign) * kAlign;
  };
  size_t prefix = kMagicLen + 2 + 2;
  int major = 1;
  if (padded_total(prefix) - prefix > 65535) {
    major = 2;
    prefix += 2;
  }
  const size_t total = padded_total(prefix);
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict += '\n';

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(path + ": cannot open for writing");
  out.write(kMagic, kMagicLen);
  const char version[2] = {static_cast<char>(major), 0};
  out.write(version, 2);
  const uint32_t hlen = static_cast<uint32_t>(dict.size());
  const int len_bytes = major == 1 ? 2 : 4;
  for (int i = 0; i < len_bytes; ++i) out.put(static_cast<char>((hlen >> (8 * i)) & 0xFF));
  out.write(dict.data(), static_cast<std::streamsize>(dict.size()));
  out.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  out.close();
  if (!out) throw Error(path + ": write failed (disk full or not writable?)");
}

}  // namespace qs
