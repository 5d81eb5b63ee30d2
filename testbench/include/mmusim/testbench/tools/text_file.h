// Whole-file text I/O for the commands' outputs (--json, --csv, sweep folders) and their child
// processes' logs.
#pragma once

#include <string>

namespace mmusim::testbench::tools {

// The file's bytes; empty when it cannot be read (a child that never wrote its log).
std::string read_text_file(const std::string& path);

// Writes `text` to `path` (replacing it). InputError "OPTION PATH: cannot open for writing" or
// "... write failed" (without OPTION: "PATH: ...").
void write_text_file(const std::string& path, const std::string& text, const std::string& option = "");

}  // namespace mmusim::testbench::tools
