#include "mmusim/testbench/tools/text_file.h"

#include <fmt/format.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "mmusim/testbench/tools/input_error.h"

namespace mmusim::testbench::tools {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text_file(const std::string& path, const std::string& text, const std::string& option) {
  const std::string what = option.empty() ? path : option + " " + path;
  std::ofstream out(path, std::ios::binary);
  if (!out) throw InputError(fmt::format("{}: cannot open for writing", what));
  out << text;
  out.flush();
  if (!out) throw InputError(fmt::format("{}: write failed", what));
}

std::string unwritable_reason(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (path.empty()) return "empty file name";
  const fs::path file(path);
  if (fs::is_directory(file, ec)) return "is a directory";
  if (fs::exists(file, ec))
    return ::access(path.c_str(), W_OK) == 0 ? "" : fmt::format("cannot write: {}", std::strerror(errno));
  const fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  if (!fs::is_directory(dir, ec)) return fmt::format("no directory {}", dir.string());
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return fmt::format("cannot create a file in {}: {}", dir.string(), std::strerror(errno));
  return "";
}

}  // namespace mmusim::testbench::tools
