// Bad input to a command of the tools (sweep, cow, plot): exit code 2 at the CLI, with the message.
#pragma once

#include <stdexcept>

namespace mmusim::testbench::tools {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace mmusim::testbench::tools
