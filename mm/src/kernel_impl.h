// Kernel::Impl, shared by kernel.cpp (processes, faults, introspection) and kernel_ops.cpp
// (munmap, mprotect, madvise, GUP, reclaim).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mm_env.h"
#include "mm_globals.h"
#include "mm_stats.h"
#include "mm_struct.h"
#include "mmusim/mm/kernel.h"
#include "pcid.h"

namespace mmusim::mm {

constexpr CpuId kMaxCpus = 64;  // CpuMask width

struct Task {
  std::unique_ptr<MmStruct> mm;     // null once the task is dead
  std::optional<Signal> killed_by;  // set when a fault killed it
};

struct Kernel::Impl {
  Impl(ArchPort& p, KernelConfig c, stats::Group& parent);

  ArchPort& port;
  KernelConfig config;
  MmStats stats;
  MmGlobals g;
  PcidAllocator pcids;
  Pfn swapper_pgd = 0;  // root with no user mappings, PCID 0: where a CPU goes when its task dies
  std::map<Pid, Task> tasks;
  std::map<CpuId, Pid> current;
  Pid next_pid = 1;
  std::vector<FaultKind> last_gup_faults;

  // The environment of an operation on `cpu`; throws std::invalid_argument for cpu >= 64.
  MmEnv env(CpuId cpu);
  Pfn boot_alloc(PageFlag flags);

  MmStruct* live_mm(Pid pid);
  const MmStruct* live_mm(Pid pid) const;
  MmStruct& live_mm_or_throw(Pid pid, const char* op);
  // The live mm of the address space `mm_id` (pins and cursors name mms by id).
  MmStruct* mm_by_id(std::uint64_t mm_id);

  // mm_alloc + pgd_alloc + a PCID. nullptr when a frame or a PCID is lacking. The new mm starts
  // its own anon_vma family unless `family` names the parent's.
  std::unique_ptr<MmStruct> mm_alloc(MmEnv& env, std::uint64_t family);
  // A task's mm becomes visible to rmap walks and invariant checks.
  void register_mm(Pid pid, MmStruct& mm);
  // Frees an mm already emptied by exit_mmap: CPUs still running it switch to swapper_pg_dir
  // first, so no CR3 points to a freed root; then the pgd and the PCID are released.
  void mm_free(MmEnv& env, Pid pid, std::unique_ptr<MmStruct> mm);
  // The task's address space goes (exit, or a fatal signal).
  void do_exit(MmEnv& env, Pid pid, std::optional<Signal> signal);

  std::vector<InvariantViolation> check() const;
  // CONFIG_DEBUG_VM: after each entry point.
  void debug_vm(const char* operation) const;

  void syscall_entry(MmEnv& env) { env.charge(CostPhase::kEntry, config.costs.syscall_entry_cycles); }
  void syscall_exit(MmEnv& env) { env.charge(CostPhase::kExit, config.costs.syscall_exit_cycles); }
};

}  // namespace mmusim::mm
