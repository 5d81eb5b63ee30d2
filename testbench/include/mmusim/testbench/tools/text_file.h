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

// Why a file cannot be written at `path` (empty: it can): a directory, no directory to create it
// in, or no permission. The commands check their output files with it before a run, so that a
// long run does not end in a write error; writing may still fail later (a full disk).
std::string unwritable_reason(const std::string& path);

}  // namespace mmusim::testbench::tools
