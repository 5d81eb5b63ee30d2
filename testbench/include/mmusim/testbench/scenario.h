// A scenario: the parsed form of a scenario file (docs/scenarios.md). Plain structs, one per
// operation; the parser has checked names and numbers, so the runner never meets bad input.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mmusim/arch/types.h"

namespace mmusim::testbench {

// Where a step came from, for every message about it.
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
  std::string str() const;  // "file:line:column"
};

// Bad input: names file, line, column and the reason. Exit code 2 at the CLI.
class ScenarioError : public std::runtime_error {
 public:
  ScenarioError(const Location& where, const std::string& reason);
};

// An address: a region name plus a byte offset, or an absolute address.
struct AddrExpr {
  std::string region;  // empty for an absolute address
  std::uint64_t offset = 0;
  std::string str() const;
};

struct ProcessStep {  // process NAME
  std::string name;
};
struct MmapStep {  // mmap PROC REGION PAGES [prot=rw|r|none|rwx] [at=ADDR]
  std::string proc;
  std::string region;
  std::uint64_t pages = 0;
  unsigned prot = 0;  // mm::Prot bits
  std::optional<VirtAddr> at;
};
// What an access expects: nothing beyond the oracle, a value (reads), or the death of its
// process by a signal: SIGSEGV (bad access), SIGBUS, or OOM-kill (out of simulated memory).
enum class AccessExpect { kNone, kValue, kSignal };
struct AccessStep {  // read PROC ADDR [expect V|SIGNAL] [size=N] / write PROC ADDR V [expect SIGNAL] [size=N]
  bool is_write = false;
  std::string proc;
  AddrExpr addr;
  std::uint64_t value = 0;  // the value stored (write)
  unsigned size = 8;
  AccessExpect expect = AccessExpect::kNone;
  std::uint64_t expected = 0;  // with kValue (read)
  std::string signal;          // with kSignal: "SIGSEGV", "SIGBUS" or "OOM-kill"
};
struct ForkStep {  // fork PARENT CHILD
  std::string parent;
  std::string child;
};
struct ExitStep {  // exit PROC
  std::string proc;
};
enum class Compare { kEq, kNe, kLt, kLe, kGt, kGe };
struct ExpectStep {  // expect STAT OP NUMBER
  std::string stat;
  Compare cmp = Compare::kEq;
  double number = 0;
};

struct Step {
  Location where;
  std::string text;  // the source line, trimmed
  std::variant<ProcessStep, MmapStep, AccessStep, ForkStep, ExitStep, ExpectStep> op;
};

struct Scenario {
  std::string name;  // file name or "<default>"
  std::vector<Step> steps;
};

// Parses scenario text. Throws ScenarioError at the first problem.
Scenario parse_scenario(const std::string& text, const std::string& file_name);
// Reads and parses a file; an unreadable file is a ScenarioError at line 0.
Scenario load_scenario(const std::string& path);

// The number syntax of scenarios and of --set: unsigned decimal or 0x-hexadecimal, at most 64
// bits, nothing else. nullopt if `text` is not such a number.
std::optional<std::uint64_t> parse_u64(std::string_view text);

const char* compare_symbol(Compare cmp);
bool compare(double lhs, Compare cmp, double rhs);

}  // namespace mmusim::testbench
