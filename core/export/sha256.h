// SHA-256 (FIPS 180-4), for the export manifest's hash of the source model.
#pragma once

#include <string>

namespace qs {

std::string sha256_hex(const std::string& bytes);
// Hash of a file's contents; throws Error naming the file when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace qs
