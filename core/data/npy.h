// NumPy .npy files (format versions 1.0, 2.0 and 3.0): the header, whole-file reading and writing.
//
// Layout of a file: "\x93NUMPY", major and minor version bytes, the header length (uint16 little-endian for
// 1.0, uint32 for 2.0/3.0), then the header — a Python dict literal such as
// "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" padded with spaces and ended by '\n' —
// and then the raw elements. Only C-order (row-major) arrays of plain numeric types are accepted:
// fortran_order True, structured dtypes, float16, complex, strings and objects are refused with an error
// naming the file.
#pragma once

#include <cstdint>
#include <string>

#include "core/tensor/tensor.h"

namespace qs {

struct NpyHeader {
  DType dtype = DType::Undefined;
  Shape shape;
  bool big_endian = false;  // elements are stored big-endian ('>' in descr) and must be byte-swapped
  std::string descr;        // as written in the file, e.g. "<f4"
  int64_t data_offset = 0;  // bytes from the start of the file to the first element
};

// Parses the header dict text (what follows the length field). `path` is only used in messages.
// Throws Error / UnsupportedError naming `path`.
NpyHeader parse_npy_header_dict(const std::string& dict, const std::string& path);

// Reads and checks the header of `path`, including that the file holds all the elements it announces.
NpyHeader read_npy_header(const std::string& path);

// Reads a whole array with its stored dtype and shape (big-endian data is converted to native order).
Tensor read_npy(const std::string& path);

// Writes `t` as a version 1.0 file (2.0 when the header does not fit 1.0), little-endian, C order, header
// padded so the data starts at a multiple of 64 bytes as NumPy does. Any dtype a Tensor holds is written.
void write_npy(const std::string& path, const Tensor& t);

// Swaps the bytes of `count` elements of `elem_size` bytes in place (elem_size 1 is a no-op).
void byteswap_elements(void* data, int64_t count, size_t elem_size);

}  // namespace qs
