#include "mmusim/testbench/tools/text_file.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

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

}  // namespace mmusim::testbench::tools
