#include "commands.h"

#include <string>

#include "mmusim/testbench/tools/text_file.h"

namespace mmusim::app {

CLI::Validator writable_file() {
  return CLI::Validator(
      [](std::string& path) {
        const std::string reason = testbench::tools::unwritable_reason(path);
        return reason.empty() ? std::string() : path + ": " + reason;
      },
      "FILE");
}

}  // namespace mmusim::app
