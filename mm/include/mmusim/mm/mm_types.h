// Types of the Kernel facade (kernel.h): configuration, fault results, GUP flags, madvise advice,
// errors, and the introspection records oracles and reports read.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "mmusim/arch/types.h"
#include "mmusim/mm/arch_port.h"
#include "mmusim/mm/cost_profile.h"
#include "mmusim/mm/injections.h"

namespace mmusim::mm {

using Pid = int;

// Protection bits of mmap/mprotect.
enum Prot : unsigned { kProtNone = 0, kProtRead = 1, kProtWrite = 2, kProtExec = 4 };

// gup_flags of pin_user_pages* (mm-semantics.md §1.7). Exactly one of FOLL_GET / FOLL_PIN.
enum GupFlags : unsigned {
  FOLL_WRITE = 1,     // the caller (device) will write: the entry must be writable
  FOLL_GET = 2,       // a plain reference (O_DIRECT, vmsplice style): +1 on page_count
  FOLL_PIN = 4,       // a pin: +GUP_PIN_COUNTING_BIAS (1024) on page_count; needs unpin
  FOLL_LONGTERM = 8,  // the pin may be held indefinitely (only with FOLL_PIN)
  FOLL_FORCE = 16,    // ptrace-style: FOLL_WRITE may break COW in a non-writable private area
};

// madvise(2) advice values this model implements (mm-semantics.md §3.11, §3.19).
enum class Advice : std::uint8_t {
  kDontNeed,    // MADV_DONTNEED: zap the range; the next access refaults (zero page / fresh)
  kDontFork,    // MADV_DONTFORK: VM_DONTCOPY, the child gets no mapping there
  kDoFork,      // MADV_DOFORK: clears VM_DONTCOPY
  kWipeOnFork,  // MADV_WIPEONFORK: VM_WIPEONFORK, the child gets the area empty
  kKeepOnFork,  // MADV_KEEPONFORK: clears VM_WIPEONFORK
};

// Fault kinds (mm-semantics.md §5.0). New kinds are appended so that existing values stay.
enum class FaultKind : std::uint8_t {
  kMissing,      // MISS: none -> new exclusive anonymous page (do_anonymous_page, write)
  kZeroPage,     // MISS0: none -> shared zero page mapped R/O (do_anonymous_page, read)
  kWpZero,       // WP-zero: write to the zero page -> new zeroed page (wp_page_copy, no data copy)
  kWpReuse,      // WP-reuse: write to an R/O anonymous page proved exclusive -> made writable
  kWpCopy,       // WP-copy: write to a possibly-shared page -> copied (wp_page_copy)
  kSpurious,     // SPUR / UN-noop: nothing to do (the entry permits it, changed, or is exclusive)
  kSigsegv,      // bad access: no VMA, or the VMA forbids it; the task gets SIGSEGV
  kOom,          // allocation failed: the task is killed (VM_FAULT_OOM)
  kUnshareMark,  // UN-mark: GUP unshare proved the R/O page exclusive; entry untouched (§3.5)
  kUnshareCopy,  // UN-copy: GUP unshare copied the page into a new exclusive page mapped R/O
  kSwapIn,       // SWAPIN: swap entry -> page mapped (do_swap_page; may end in a WP copy/reuse)
  kNumaHint,     // NUMA hint: a protnone entry of an accessible area restored read-only (do_numa_page)
};
inline constexpr std::size_t kFaultKindCount = 12;
const char* fault_kind_name(FaultKind kind);  // "missing", "zero_page", ..., "swap_in"

enum class Signal : std::uint8_t { kNone, kSigsegv, kSigbus, kOomKill };
const char* signal_name(Signal signal);

struct FaultResult {
  FaultKind kind;
  Signal signal = Signal::kNone;  // kNone: retry the access; otherwise the task was killed
};

// The kernel's configuration. Options marked "model choice" select between behaviours that
// Linux versions or devices differ in; the defaults are what mm-semantics.md's scenarios expect
// unless stated.
struct KernelConfig {
  CostProfile costs;
  Injections inject;
  bool check_invariants = true;  // CONFIG_DEBUG_VM: invariants and GUP sanity checks
  // Swap device size in 4 KiB slots; 0: no swap device (swap_out returns -ENOMEM).
  std::uint64_t swap_slots = 256;
  // Model choice (D04): a SWP_SYNCHRONOUS_IO device (zram, pmem): a swap-in of a slot only one
  // entry references reads into a fresh page that bypasses the swap cache and is exclusive.
  bool swap_synchronous = false;
  // Model choice: swap entries carry an exclusive marker (_PAGE_SWP_EXCLUSIVE, Linux >= 5.19,
  // the "part 3" of §1.2.2 / L1) and swap-in trusts it. Off: the S0 baseline, where exclusivity
  // is lost in swap entries and re-proved from page_count (I10, D01).
  bool swap_exclusive_marker = false;
  // Model choice (§3.12): mprotect making an area writable sets the write bit at once on entries
  // of exclusive anonymous pages (can_change_pte_writable, Linux >= 6.0). Off: v5.17, every
  // private entry stays R/O and the next write takes a WP-reuse fault (spec B12/B19 text).
  bool mprotect_write_exclusive = true;
  // Model choice (§3.13, D03): reclaim skips pages that look pinned before add_to_swap. Off:
  // swap_out relies on try_to_unmap_one's pin check alone (the D03 variant: clear + flush, pin
  // check fails, entry restored).
  bool reclaim_pin_precheck = true;
};

// A violation of a spec invariant or sanity check.
struct InvariantViolation {
  std::string invariant;  // "I1".."I21", "MAPCOUNT", "REFCOUNT", "RSS", "SWAPENTS", "SWAPMAP",
                          // "ZERO", "PGTABLE", "BADPTE", "PIN"
  std::string detail;     // page, entry and what is wrong
  Pid pid = -1;           // the address space of the entry concerned; -1: a page-only check
  VirtAddr va = 0;        // the address of that entry
  Pfn pfn = 0;            // the frame concerned
};

// Thrown by a Kernel entry point when KernelConfig::check_invariants is set and the state it
// leaves violates an invariant (CONFIG_DEBUG_VM's VM_BUG_ON), or a sanity check of §3.24 fails
// inside it. The state is left as it is.
class InvariantError : public std::logic_error {
 public:
  InvariantError(std::string operation, std::vector<InvariantViolation> violations);
  const std::string& operation() const { return operation_; }  // "fork", "unpin_user_page", ...
  const std::vector<InvariantViolation>& violations() const { return violations_; }

 private:
  std::string operation_;
  std::vector<InvariantViolation> violations_;
};

// struct page of one frame, for oracles and tests.
struct PageInfo {
  std::uint32_t refcount = 0;  // page_count (a FOLL_PIN adds 1024)
  std::uint32_t mapcount = 0;  // PTE mappings
  bool anon = false;           // PG_anon
  bool anon_exclusive = false; // PG_anon_exclusive
  bool pgtable = false;        // holds a page table
  bool zero_page = false;      // the shared zero page
  bool swapcache = false;      // PG_swapcache: in the swap cache
  bool writeback = false;      // PG_writeback: swap I/O in flight
  bool maybe_pinned = false;   // page_maybe_dma_pinned: refcount >= 1024
};

// One VMA of an address space.
struct VmaInfo {
  VirtAddr start = 0;
  VirtAddr end = 0;
  unsigned prot = kProtNone;
  bool anon_vma = false;     // an anon_vma exists (some page was written); fork copies entries
  bool dontcopy = false;     // VM_DONTCOPY (MADV_DONTFORK)
  bool wipeonfork = false;   // VM_WIPEONFORK
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
  std::uint64_t rss_swap = 0;           // MM_SWAPENTS: swap entries in the page tables
  bool has_pinned = false;              // MMF_HAS_PINNED (sticky)
};

// A pin or reference taken by pin_user_pages* (a FOLL_GET reference is listed the same way).
struct PinInfo {
  long id;        // >= 1
  Pid pid;        // the process whose address space was pinned
  VirtAddr va;    // page-aligned address it was taken at
  Pfn pfn;        // the frame it holds (what DMA through it reaches, HW8)
  unsigned flags; // GupFlags
  bool fast;      // taken by GUP-fast (no fallback to the slow path)
};

}  // namespace mmusim::mm
