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

// Who acts: a process's main thread (`P`) or one of its threads (`P.t2`), each placed on a core.
struct Actor {
  std::string proc;
  std::string thread;  // empty: the main thread
  std::string str() const { return thread.empty() ? proc : proc + "." + thread; }
};

struct ProcessStep {  // process NAME [cpu=N]
  std::string name;
};
struct ThreadStep {  // thread PROC.NAME cpu=N
  Actor actor;
};
struct MmapStep {  // mmap ACTOR REGION PAGES [prot=rw|r|none|rx|rwx] [at=ADDR]
  std::string proc;
  std::string region;
  std::uint64_t pages = 0;
  unsigned prot = 0;  // mm::Prot bits
  std::optional<VirtAddr> at;
};
// What an access expects: nothing beyond the oracle, a value (reads), the death of its process
// by a signal (SIGSEGV, SIGBUS, OOM-kill), or a verdict of the oracle ("missed COW", "wrong COW",
// "lost store": a known-bad outcome the scenario documents).
enum class AccessExpect { kNone, kValue, kSignal, kOracle };
// read ACTOR ADDR [expect V|SIGNAL|VERDICT] [size=N] [pages=N]
// write ACTOR ADDR V [buffered] [expect SIGNAL] [size=N] [pages=N]
// fetch ACTOR ADDR [expect SIGNAL]
// prefetch ACTOR ADDR: PREFETCHT0, a walk that fills the TLB and paging-structure caches but
// never faults (dropped instead)
// With pages=N, the access is repeated at ADDR, ADDR+4K, ... (N accesses, one step).
struct AccessStep {
  enum class Kind { kRead, kWrite, kFetch, kPrefetch };
  Kind kind = Kind::kRead;
  bool is_write = false;  // kind == kWrite
  std::string proc;
  std::string thread;
  AddrExpr addr;
  std::uint64_t value = 0;  // the value stored (write)
  unsigned size = 8;
  bool buffered = false;  // write: leave the store in the store buffer (no fence after the step)
  std::uint64_t pages = 1;  // read/write: one access per page, stride 4 KiB (a page-range access)
  AccessExpect expect = AccessExpect::kNone;
  std::uint64_t expected = 0;  // with kValue (read)
  std::string signal;          // with kSignal: "SIGSEGV", "SIGBUS" or "OOM-kill"; kOracle: the verdict
};
// fork ACTOR CHILD [cpu=N] [pause]: `pause` holds fork inside copy_present_pte, after the pin
// check that shares the page and before the write-protect of the parent's entry (the T6
// window), until `resume ACTOR`; later steps run meanwhile.
struct ForkStep {
  std::string parent;
  std::string thread;  // the forking thread
  std::string child;
  bool pause = false;
};
struct ClearRefsStep {  // clear_refs ACTOR: echo 4 > /proc/PID/clear_refs (soft-dirty clearing, M02)
  Actor actor;
};
struct ResumeStep {  // resume ACTOR: lets ACTOR's paused fork go on (instant, no core of its own)
  Actor actor;
  CpuId cpu = 0;  // the core the fork runs on
};
struct ExitStep {  // exit PROC
  std::string proc;
};
// munmap / mprotect / madvise / numa_scan ACTOR ADDR ... [pages=N]: the range starts at ADDR and covers N
// pages (default: to the end of ADDR's region).
struct RangeStep {
  enum class Kind { kMunmap, kMprotect, kMadvise, kNumaScan };
  Kind kind = Kind::kMunmap;
  Actor actor;
  AddrExpr addr;
  std::uint64_t pages = 0;
  unsigned prot = 0;        // mprotect
  std::string advice;       // madvise: dontneed, dontfork, dofork, wipeonfork, keeponfork
};
// swapout ACTOR ADDR [async] [arch_fail] [pause]: reclaim tries to swap out the page mapped there;
// `async` leaves the write in flight until writeback_done (D05), `arch_fail` makes
// arch_unmap_one fail (D09).
struct SwapoutStep {
  Actor actor;
  AddrExpr addr;
  bool async_writeback = false;
  bool arch_unmap_fails = false;
  bool pause = false;  // held after the pin check of the entry until `resume ACTOR` (T4 window)
};
// swapoff ACTOR: the actor's process calls swapoff (D07); writeback_done ACTOR: the swap writes
// in flight complete, their interrupt taken on the actor's core.
struct SwapDeviceStep {
  enum class Kind { kSwapoff, kWritebackDone };
  Kind kind = Kind::kSwapoff;
  Actor actor;
};
// pin / get ACTOR ADDR as NAME [rw] [longterm] [force] [slow]; pin_begin ACTOR ADDR as NAME [rw]
// [longterm]: FOLL_PIN or FOLL_GET; GUP-fast first unless `slow`; pin_begin stops GUP-fast after
// reading the entry (interrupts disabled on its core) until `pin_end NAME`.
struct PinStep {
  enum class Mode { kFast, kSlow, kBegin };
  Actor actor;
  AddrExpr addr;
  std::string name;
  bool get = false;  // FOLL_GET instead of FOLL_PIN
  bool write = false, longterm = false, force = false;
  Mode mode = Mode::kFast;
};
struct PinEndStep {  // pin_end NAME
  std::string name;
  Actor actor;  // the actor of its pin_begin
};
struct UnpinStep {  // unpin NAME
  std::string name;
  Actor actor;  // the actor that pinned
};
// dma_write NAME VALUE [offset=N] [size=N] / dma_read NAME [expect V|VERDICT] [offset=N] [size=N]:
// a device access to the frame the pin or reference holds (HW8: no TLB).
struct DmaStep {
  bool is_write = false;
  std::string name;
  std::uint64_t offset = 0;
  std::uint64_t value = 0;
  unsigned size = 8;
  AccessExpect expect = AccessExpect::kNone;
  std::uint64_t expected = 0;
  std::string verdict;
};
struct FenceStep {  // fence ACTOR: MFENCE, drains the core's store buffer
  Actor actor;
};
enum class Compare { kEq, kNe, kLt, kLe, kGt, kGe };
struct ExpectStep {  // expect STAT OP NUMBER
  std::string stat;
  Compare cmp = Compare::kEq;
  double number = 0;
};
struct ExpectPinStep {  // expect pin NAME consistent|inconsistent
  std::string name;
  bool consistent = true;
};

struct Step {
  Location where;
  std::string text;  // the source line, trimmed
  std::variant<ProcessStep, ThreadStep, MmapStep, AccessStep, ForkStep, ExitStep, RangeStep, SwapoutStep, SwapDeviceStep, ResumeStep, ClearRefsStep,
               PinStep, PinEndStep, UnpinStep, DmaStep, FenceStep, ExpectStep, ExpectPinStep>
      op;
  // The core that executes the step; nullopt for steps that need none (expect, dma).
  std::optional<CpuId> cpu;
  // `expect ERRNO` on a step that returns an error (mmap, munmap, mprotect, madvise, swapout, pin,
  // get, pin_end, unpin, fork): the errno it must fail with, as a positive number.
  std::optional<int> expect_errno;
};

struct Scenario {
  std::string name;  // file name or "<default>"
  std::vector<Step> steps;
  unsigned cores = 1;       // 1 + the highest cpu= a step names
  std::string known_bad;    // `known-bad TEXT`: the scenario reproduces a documented bad outcome
};

// errno names a scenario may expect ("EFAULT" -> 14); nullopt for an unknown name.
std::optional<int> errno_by_name(std::string_view name);
const char* errno_name(int err);  // "EFAULT", or "E?" for an unknown number

// Parses scenario text. Throws ScenarioError at the first problem.
Scenario parse_scenario(const std::string& text, const std::string& file_name);
// Reads and parses a file; an unreadable file is a ScenarioError at line 0.
Scenario load_scenario(const std::string& path);

// The number syntax of scenarios and of --set: unsigned decimal or 0x-hexadecimal, at most 64
// bits, nothing else. nullopt if `text` is not such a number.
std::optional<std::uint64_t> parse_u64(std::string_view text);
// The line syntax of scenarios and of configuration files: `s` without leading and trailing
// blanks (spaces, tabs, carriage returns).
std::string trim_blanks(const std::string& s);

const char* compare_symbol(Compare cmp);
bool compare(double lhs, Compare cmp, double rhs);

}  // namespace mmusim::testbench
