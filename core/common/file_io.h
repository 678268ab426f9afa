// Writing the user's files: every file QuantScope writes (plans, reports, models, arrays) goes through a
// temporary file beside the target and a rename, so an interrupted or failed write never leaves a
// truncated file where a good one was.
#pragma once

#include <string>

namespace qs {

// Writes `bytes` to `path` atomically. Throws Error naming the path (folder missing or not writable, disk
// full, rename refused); the temporary file is removed on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);

// The temporary name write_file_atomic uses beside `path` (unique per process).
std::string temp_path_beside(const std::string& path);

}  // namespace qs
