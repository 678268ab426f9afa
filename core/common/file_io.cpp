#include "core/common/file_io.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/common/error.h"

namespace qs {

namespace fs = std::filesystem;

std::string temp_path_beside(const std::string& path) {
  const fs::path p(path);
  return (p.parent_path() / (p.filename().string() + ".tmp." + std::to_string(::getpid()))).string();
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  if (path.empty()) throw Error("no output file given");
  const std::string tmp = temp_path_beside(path);
  std::error_code ec;
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error(path + ": cannot write (folder missing or not writable)");
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.close();
    if (!f) {
      fs::remove(tmp, ec);
      throw Error(path + ": writing failed (disk full?)");
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    throw Error(path + ": cannot replace the file: " + why);
  }
}

}  // namespace qs
