#include "mmusim/testbench/tools/scratch_dir.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>

#include "mmusim/testbench/tools/input_error.h"

namespace mmusim::testbench::tools {

ScratchDir::ScratchDir(const std::string& what) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/mmusim-" + what + "-XXXXXX";
  if (!mkdtemp(pattern.data())) throw InputError(fmt::format("cannot create {}", pattern));
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace mmusim::testbench::tools
