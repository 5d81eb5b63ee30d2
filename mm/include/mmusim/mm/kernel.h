// The OS memory manager's entry points: processes, their mm, syscalls and the page-fault handler.
//
// This is the facade testbench/ drives. Everything behind it (struct page, VMAs, page tables in
// simulated memory, do_anonymous_page, do_wp_page, copy_page_range, zap) follows
// mm-semantics.md and the kernel's names. Each entry point runs "on" a CPU: the cost of its steps
// is charged through the ArchPort, and TLB maintenance is issued for that CPU as initiator.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "mmusim/arch/types.h"
#include "mmusim/arch/x86_paging.h"
#include "mmusim/mm/arch_port.h"
#include "mmusim/mm/cost_profile.h"
#include "mmusim/stats/stats.h"

namespace mmusim::mm {

using Pid = int;

// Protection bits of mmap/mprotect.
enum Prot : unsigned { kProtNone = 0, kProtRead = 1, kProtWrite = 2, kProtExec = 4 };

// Fault kinds (mm-semantics.md §5.0).
enum class FaultKind : std::uint8_t {
  kMissing,   // MISS: none -> new exclusive anonymous page (do_anonymous_page, write)
  kZeroPage,  // MISS0: none -> shared zero page mapped R/O (do_anonymous_page, read)
  kWpZero,    // WP-zero: write to the zero page -> new zeroed page (wp_page_copy, no data copy)
  kWpReuse,   // WP-reuse: write to an R/O anonymous page proved exclusive -> made writable
  kWpCopy,    // WP-copy: write to a possibly-shared page -> copied (wp_page_copy)
  kSpurious,  // SPUR: the entry already permits the access (R7); nothing to do
  kSigsegv,   // bad access: no VMA, or the VMA forbids it; the task gets SIGSEGV
  kOom,       // allocation failed: the task is killed (VM_FAULT_OOM)
};
inline constexpr std::size_t kFaultKindCount = 8;
const char* fault_kind_name(FaultKind kind);  // "missing", "zero_page", "wp_zero", ...

enum class Signal : std::uint8_t { kNone, kSigsegv, kSigbus, kOomKill };
const char* signal_name(Signal signal);

struct FaultResult {
  FaultKind kind;
  Signal signal = Signal::kNone;  // kNone: retry the access; otherwise the task was killed
};

// Knobs that deliberately break a rule, for tests that must show an oracle catching it.
// Never enabled by default; named after the rule they remove.
struct TestSwitches {
  bool break_cow = false;  // do_wp_page reuses possibly-shared pages (missed COW, I5)
};

struct KernelConfig {
  CostProfile costs;
  TestSwitches test;
  bool check_invariants = true;  // CONFIG_DEBUG_VM: check I1/I6/I13 after every operation
};

// A violation of a spec invariant found by check_invariants().
struct InvariantViolation {
  std::string invariant;  // "I1", "I6", "I13", "MAPCOUNT", "RSS", "ZERO", "PGTABLE", "LEAK"
  std::string detail;     // page, entry and what is wrong
  Pid pid = -1;           // the address space of the entry concerned; -1: a page-only check
  VirtAddr va = 0;        // the address of that entry
  Pfn pfn = 0;            // the frame concerned
};

// Thrown by a Kernel entry point when KernelConfig::check_invariants is set and the state it
// leaves violates an invariant (CONFIG_DEBUG_VM's VM_BUG_ON). The state is left as it is.
class InvariantError : public std::logic_error {
 public:
  InvariantError(std::string operation, std::vector<InvariantViolation> violations);
  const std::string& operation() const { return operation_; }  // "fork", "handle_page_fault", ...
  const std::vector<InvariantViolation>& violations() const { return violations_; }

 private:
  std::string operation_;
  std::vector<InvariantViolation> violations_;
};

// struct page of one frame, for oracles and tests.
struct PageInfo {
  std::uint32_t refcount = 0;  // page_count
  std::uint32_t mapcount = 0;  // PTE mappings
  bool anon = false;           // PG_anon
  bool anon_exclusive = false; // PG_anon_exclusive
  bool pgtable = false;        // holds a page table
  bool zero_page = false;      // the shared zero page
};

// One VMA of an address space.
struct VmaInfo {
  VirtAddr start = 0;
  VirtAddr end = 0;
  unsigned prot = kProtNone;
  bool anon_vma = false;  // an anon_vma exists (some page was written); fork copies entries
};

// An address space, for oracles, tests and reports.
struct MmInfo {
  PhysAddr pgd = 0;                     // root table
  Pcid pcid = 0;                        // 1..4095
  CpuMask cpumask;                      // CPUs that ran it (flush targets)
  std::uint64_t rss_anon = 0;           // MM_ANONPAGES
  std::uint64_t nr_ptes = 0;            // level-1 page tables
  std::uint64_t nr_pgtables = 0;        // page-table frames below the root
  std::uint64_t write_protect_seq = 0;  // even outside fork
  std::vector<VmaInfo> vmas;            // in address order
};

// Errors: calls returning long report errno-style negatives (-ESRCH for an unknown or dead pid,
// -EINVAL, -ENOMEM); void calls given an unknown or dead pid, or a CPU with no current task,
// throw std::invalid_argument. Nothing else of the caller's making crashes the model.
class Kernel {
 public:
  // Boots: allocates the shared zero page and swapper_pg_dir (the empty root a CPU switches to
  // when its task exits), the first two frames from 1. Throws std::invalid_argument when the
  // port has fewer than 3 frames.
  Kernel(ArchPort& port, KernelConfig config, stats::Group& parent);
  ~Kernel();
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  // Creates a process with an empty address space (as after execve). Returns its pid, or
  // -ENOMEM if no frame is left for its page-table root.
  Pid create_process(CpuId cpu);

  // Context switch on `cpu` to `pid` (switch_mm: CR3 write with the no-flush bit, mm_cpumask
  // update). Switching to the task already current is a no-op. Throws std::invalid_argument for
  // an unknown or dead pid.
  void switch_to(CpuId cpu, Pid pid);
  std::optional<Pid> current(CpuId cpu) const;

  // mmap(addr, len, prot, MAP_PRIVATE|MAP_ANONYMOUS[|MAP_FIXED]). `addr` 0 lets the kernel
  // choose (top-down below 0x7f0000000000). Returns the address, or -EINVAL / -ENOMEM.
  long mmap(CpuId cpu, Pid pid, VirtAddr addr, std::uint64_t len, unsigned prot, bool fixed);

  // fork(): returns the child's pid, or -ENOMEM (nothing of the child remains), or -ESRCH.
  // The child is current nowhere until switch_to.
  long fork(CpuId cpu, Pid parent);

  // exit(): zaps the address space (flush before free, R6) and frees it. The pid becomes dead;
  // CPUs on which it was current switch to swapper_pg_dir and have no current task. Throws
  // std::invalid_argument for an unknown or dead pid.
  void exit(CpuId cpu, Pid pid);

  // The #PF handler for the task current on `cpu`; charges exception entry and exit. When the
  // result carries a signal the task was killed (torn down as at exit). Throws
  // std::invalid_argument when no task is current on `cpu`.
  FaultResult handle_page_fault(CpuId cpu, VirtAddr va, std::uint32_t error_code);

  // ---- introspection (oracles, tests, reports); never charges cycles ----
  bool alive(Pid pid) const;
  std::optional<Signal> killed_by(Pid pid) const;  // set when a fault killed the task
  // The leaf entry mapping `va` in `pid`, if the page tables reach a PTE for it.
  std::optional<x86::PteVal> lookup_pte(Pid pid, VirtAddr va) const;
  std::vector<InvariantViolation> check_invariants() const;
  std::uint64_t free_frames() const;
  // struct page of `pfn`; nullopt for frame 0, frames beyond the port, and free frames.
  std::optional<PageInfo> page_info(Pfn pfn) const;
  Pfn zero_pfn() const;
  std::optional<MmInfo> mm_info(Pid pid) const;  // nullopt for an unknown or dead pid

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mmusim::mm
