// Kernel::Impl, shared by kernel.cpp (processes, faults, introspection) and kernel_ops.cpp
// (munmap, mprotect, madvise, GUP, reclaim).
#pragma once

#include <cerrno>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "locks.h"
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
  class OpScope;
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
  // Releases the pgd (its frame may live on as a lazy CR3 of other CPUs) and the PCID of an mm
  // emptied by exit_mmap.
  void mm_free(MmEnv& env, MmStruct& mm);
  // The task exits or is killed: it is current nowhere any more (the CPU running the exit loads
  // swapper_pg_dir; others keep the dead root in CR3 until their next switch, as a lazy-TLB mm
  // pins it), and its mm is torn down once no operation is in flight on it (reap).
  void do_exit(MmEnv& env, Pid pid, std::optional<Signal> signal);
  // fork's work under the parent's mmap_lock: a child pid, or -ENOMEM (nothing of it remains).
  long fork_mm(MmEnv& env, MmStruct& oldmm);
  // Tears down every dying mm no operation uses any more (exit_mmap, mm_free).
  void reap(MmEnv& env);

  std::vector<InvariantViolation> check() const;
  // CONFIG_DEBUG_VM: after each entry point, when no other operation is suspended mid-way (the
  // invariants hold between critical sections, §2).
  void debug_vm(const char* operation) const;

  unsigned in_flight = 0;             // entry points running (others wait in a shootdown)
  std::map<CpuId, Pfn> lazy_pgd;      // CPUs whose CR3 still holds a dead mm's root

  void syscall_entry(MmEnv& env) { env.charge(CostPhase::kEntry, config.costs.syscall_entry_cycles); }
  void syscall_exit(MmEnv& env) { env.charge(CostPhase::kExit, config.costs.syscall_exit_cycles); }

  // A syscall on `pid`'s mm under its mmap_lock (`mode`): entry and exit costs, the operation
  // scope and its checks. -EINVAL for a bad cpu, -ESRCH for a dead pid, -EAGAIN when the lock is
  // held by an operation suspended in a shootdown and the port cannot wait (cpu_relax).
  template <class Fn>
  long mm_syscall(CpuId cpu, Pid pid, const char* name, MmapLock::Mode mode, Fn fn);
};

// (mm_syscall is defined after OpScope, which it uses.)

// One entry point in flight: counts it (in_flight) and holds a user of its mm (mm_users) so that
// a kill by an operation running meanwhile does not free the mm under it. finish() ends it:
// reaps dying mms and runs the debug checks; the destructor covers exceptions.
class Kernel::Impl::OpScope {
 public:
  OpScope(Impl& impl, MmStruct* mm) : impl_(impl), mm_(mm) {
    ++impl_.in_flight;
    if (mm_) ++mm_->users;
  }
  ~OpScope() { release(); }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

  void finish(MmEnv& env, const char* operation) {
    if (mm_) --mm_->users;
    mm_ = nullptr;
    impl_.reap(env);
    release();
    if (impl_.in_flight == 0) impl_.debug_vm(operation);
  }

 private:
  void release() {
    if (mm_) --mm_->users;
    mm_ = nullptr;
    if (active_) --impl_.in_flight;
    active_ = false;
  }

  Impl& impl_;
  MmStruct* mm_;
  bool active_ = true;
};

template <class Fn>
long Kernel::Impl::mm_syscall(CpuId cpu, Pid pid, const char* name, MmapLock::Mode mode, Fn fn) {
  if (cpu >= kMaxCpus) return -EINVAL;
  MmStruct* mm = live_mm(pid);
  if (!mm) return -ESRCH;
  MmEnv e = env(cpu);
  OpScope op(*this, mm);
  syscall_entry(e);
  long result = -EAGAIN;
  {
    MmapLock lock(e, *mm, mode);
    if (lock.ok()) result = fn(e, *mm);
  }
  syscall_exit(e);
  op.finish(e, name);
  return result;
}

}  // namespace mmusim::mm
