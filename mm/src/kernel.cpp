// The Kernel facade: tasks and their mms, PCIDs, context switches, syscall and exception
// entry/exit costs, and CONFIG_DEBUG_VM checks after every entry point. The memory-management
// work itself is in memory.cpp (faults), fork.cpp, exit.cpp and mmap.cpp; kernel_ops.cpp holds
// the entry points of munmap, mprotect, madvise, GUP and reclaim.
#include "mmusim/mm/kernel.h"

#include <cerrno>
#include <sstream>

#include "exit.h"
#include "fork.h"
#include "invariants.h"
#include "kernel_impl.h"
#include "locks.h"
#include "memory.h"
#include "mmap.h"
#include "pgtable.h"
#include "pte.h"
#include "tlb.h"

namespace mmusim::mm {
namespace {

std::string describe(const std::string& operation,
                     const std::vector<InvariantViolation>& violations) {
  std::ostringstream out;
  out << "invariant violated after " << operation << ":";
  for (const InvariantViolation& v : violations) out << "\n  " << v.detail;
  return out.str();
}

unsigned vm_flags_to_prot(unsigned long vm_flags) {
  unsigned prot = kProtNone;
  if (vm_flags & VM_READ) prot |= kProtRead;
  if (vm_flags & VM_WRITE) prot |= kProtWrite;
  if (vm_flags & VM_EXEC) prot |= kProtExec;
  return prot;
}

}  // namespace

InvariantError::InvariantError(std::string operation, std::vector<InvariantViolation> violations)
    : std::logic_error(describe(operation, violations)),
      operation_(std::move(operation)),
      violations_(std::move(violations)) {}

Kernel::Impl::Impl(ArchPort& p, KernelConfig c, stats::Group& parent)
    : port(p), config(std::move(c)), stats(parent), g(p.nr_frames(), config.swap_slots) {
  if (p.nr_frames() < 3) throw std::invalid_argument("Kernel: the port needs at least 3 frames");
  g.zero_pfn = boot_alloc(PG_reserved);
  swapper_pgd = boot_alloc(static_cast<PageFlag>(PG_reserved | PG_pgtable));
}

MmEnv Kernel::Impl::env(CpuId cpu) {
  if (cpu >= kMaxCpus) throw std::invalid_argument("cpu id beyond the 64 of CpuMask");
  return MmEnv(port, config, g, stats, cpu);
}

Pfn Kernel::Impl::boot_alloc(PageFlag flags) {
  const Pfn pfn = *g.pages.alloc();
  g.pages.page(pfn).flags = flags;
  port.zero_frame(pfn);
  return pfn;
}

MmStruct* Kernel::Impl::live_mm(Pid pid) {
  auto it = tasks.find(pid);
  if (it == tasks.end() || !it->second.mm || it->second.mm->dying) return nullptr;
  return it->second.mm.get();
}

const MmStruct* Kernel::Impl::live_mm(Pid pid) const {
  auto it = tasks.find(pid);
  if (it == tasks.end() || !it->second.mm || it->second.mm->dying) return nullptr;
  return it->second.mm.get();
}

MmStruct& Kernel::Impl::live_mm_or_throw(Pid pid, const char* op) {
  MmStruct* mm = live_mm(pid);
  if (!mm) throw std::invalid_argument(std::string(op) + ": no live process " + std::to_string(pid));
  return *mm;
}

MmStruct* Kernel::Impl::mm_by_id(std::uint64_t mm_id) {
  auto it = g.mms.find(mm_id);
  return it == g.mms.end() ? nullptr : it->second;
}

std::unique_ptr<MmStruct> Kernel::Impl::mm_alloc(MmEnv& env, std::uint64_t family) {
  env.charge(CostPhase::kAlloc, config.costs.mm_create_cycles);
  std::optional<Pfn> pgd = alloc_page(env);
  if (!pgd) return nullptr;
  {
    PhaseScope scope(port, CostPhase::kAlloc);
    port.zero_frame(*pgd);
  }
  g.pages.page(*pgd).set(PG_pgtable);
  stats.pgtables_allocated.inc();
  CpuMask stale;
  std::optional<Pcid> pcid = pcids.alloc(stale);
  if (!pcid) {
    put_page(env, *pgd);
    return nullptr;
  }
  if (!stale.empty()) {
    // A PCID reused from a dead mm: drop whatever those CPUs still cache under it.
    TlbFlush flush;
    flush.pcid = *pcid;
    flush.full = true;
    stats.tlb_flush_full.inc();
    stats.count_flush(FlushRule::kPcidReuse);
    PhaseScope scope(port, CostPhase::kFlush);
    port.flush_tlb(env.cpu, stale, flush);
  }
  auto mm = std::make_unique<MmStruct>();
  mm->id = g.next_mm_id++;
  mm->anon_vma_root = family ? family : mm->id;
  mm->pgd = *pgd;
  mm->pcid = *pcid;
  mm->write_protect_seq_pa = wp_seq_slot(mm->pcid);
  return mm;
}

void Kernel::Impl::register_mm(Pid pid, MmStruct& mm) {
  mm.pid = pid;
  g.mms[mm.id] = &mm;
}

void Kernel::Impl::mm_free(MmEnv& env, MmStruct& mm) {
  g.mms.erase(mm.id);
  tlb_remove_table(env, mm.pgd);  // GUP-fast may still be walking it (§4.4 (c))
  pcids.release(mm.pcid, mm.cpumask);
}

void Kernel::Impl::do_exit(MmEnv& env, Pid pid, std::optional<Signal> signal) {
  Task& task = tasks.at(pid);
  MmStruct& mm = *task.mm;
  task.killed_by = signal;
  mm.dying = true;
  for (auto it = current.begin(); it != current.end();) {
    if (it->second != pid) {
      ++it;
      continue;
    }
    if (it->first == env.cpu) {
      PhaseScope scope(port, CostPhase::kExit);
      port.write_cr3(env.cpu, pfn_to_phys(swapper_pgd), 0, /*noflush=*/true);
    } else {
      // mmgrab for the lazy CPU: its CR3 keeps naming the root until it switches (no remote CR3
      // write; the tables below are detached by exit_mmap before being freed).
      get_page(env, mm.pgd);
      lazy_pgd[it->first] = mm.pgd;
    }
    it = current.erase(it);
  }
}

long Kernel::Impl::fork_mm(MmEnv& env, MmStruct& oldmm) {
  std::unique_ptr<MmStruct> mm = mm_alloc(env, oldmm.anon_vma_root);
  if (!mm) return -ENOMEM;
  // anon_vma_fork: the child's mappings are reachable by rmap walks (reclaim running on another
  // CPU during fork's final shootdown) from the moment they exist.
  g.mms[mm->id] = mm.get();
  const int err = dup_mmap(env, oldmm, *mm);
  if (err) {
    // The partial child is torn down like an exiting task: nothing of it remains.
    exit_mmap(env, *mm);
    mm_free(env, *mm);
    return err;
  }
  const Pid child = next_pid++;
  register_mm(child, *mm);
  tasks[child].mm = std::move(mm);
  stats.forks.inc();
  return child;
}

void Kernel::Impl::reap(MmEnv& env) {
  for (auto& [pid, task] : tasks) {
    MmStruct* mm = task.mm.get();
    if (!mm || !mm->dying || mm->users != 0) continue;
    ++mm->users;  // the teardown itself, which may wait in shootdowns
    exit_mmap(env, *mm);
    mm_free(env, *mm);
    task.mm.reset();
  }
}

std::vector<InvariantViolation> Kernel::Impl::check() const { return check_mm_invariants(port, g); }

void Kernel::Impl::debug_vm(const char* operation) const {
  if (!config.check_invariants || in_flight != 0) return;
  std::vector<InvariantViolation> violations = check();
  if (!violations.empty()) throw InvariantError(operation, std::move(violations));
}

Kernel::Kernel(ArchPort& port, KernelConfig config, stats::Group& parent)
    : impl_(std::make_unique<Impl>(port, std::move(config), parent)) {}

Kernel::~Kernel() = default;

Pid Kernel::create_process(CpuId cpu) {
  MmEnv env = impl_->env(cpu);
  Impl::OpScope op(*impl_, nullptr);
  impl_->syscall_entry(env);
  std::unique_ptr<MmStruct> mm = impl_->mm_alloc(env, /*family=*/0);
  impl_->syscall_exit(env);
  Pid pid = -ENOMEM;
  if (mm) {
    pid = impl_->next_pid++;
    impl_->register_mm(pid, *mm);
    impl_->tasks[pid].mm = std::move(mm);
  }
  op.finish(env, "create_process");
  return pid;
}

void Kernel::switch_to(CpuId cpu, Pid pid) {
  MmEnv env = impl_->env(cpu);
  MmStruct& mm = impl_->live_mm_or_throw(pid, "switch_to");
  auto it = impl_->current.find(cpu);
  if (it != impl_->current.end() && it->second == pid) return;  // switch_mm(prev == next)
  Impl::OpScope op(*impl_, &mm);
  // The context switch is charged on the return path to the new task (no phase of its own).
  env.charge(CostPhase::kExit, impl_->config.costs.context_switch_cycles);
  // The CPU joins mm_cpumask before CR3 is loaded, so a flush issued in between reaches it.
  mm.cpumask.set(cpu);
  {
    PhaseScope scope(impl_->port, CostPhase::kExit);
    impl_->port.write_cr3(cpu, pfn_to_phys(mm.pgd), mm.pcid, /*noflush=*/true);
  }
  impl_->current[cpu] = pid;
  auto lazy = impl_->lazy_pgd.find(cpu);
  if (lazy != impl_->lazy_pgd.end()) {  // mmdrop of the dead mm this CPU still had in CR3
    tlb_remove_table(env, lazy->second);
    impl_->lazy_pgd.erase(lazy);
  }
  op.finish(env, "switch_to");
}

std::optional<Pid> Kernel::current(CpuId cpu) const {
  auto it = impl_->current.find(cpu);
  if (it == impl_->current.end()) return std::nullopt;
  return it->second;
}

long Kernel::mmap(CpuId cpu, Pid pid, VirtAddr addr, std::uint64_t len, unsigned prot,
                  bool fixed) {
  return impl_->mm_syscall(cpu, pid, "mmap", MmapLock::kWrite,
                           [&](MmEnv& env, MmStruct& mm) { return do_mmap(env, mm, addr, len, prot, fixed); });
}

long Kernel::fork(CpuId cpu, Pid parent) {
  if (cpu >= kMaxCpus) return -EINVAL;
  MmStruct* oldmm = impl_->live_mm(parent);
  if (!oldmm) return -ESRCH;
  MmEnv env = impl_->env(cpu);
  Impl::OpScope op(*impl_, oldmm);
  impl_->syscall_entry(env);
  long result = -EAGAIN;
  {
    MmapLock lock(env, *oldmm, MmapLock::kWrite);
    if (lock.ok()) result = impl_->fork_mm(env, *oldmm);
  }
  impl_->syscall_exit(env);
  op.finish(env, "fork");
  return result;
}

void Kernel::exit(CpuId cpu, Pid pid) {
  MmStruct& mm = impl_->live_mm_or_throw(pid, "exit");
  MmEnv env = impl_->env(cpu);
  Impl::OpScope op(*impl_, &mm);
  impl_->syscall_entry(env);  // exit never returns to user space: no syscall exit
  impl_->do_exit(env, pid, std::nullopt);
  impl_->stats.exits.inc();
  op.finish(env, "exit");  // the teardown, unless an operation on this mm is in flight
}

FaultResult Kernel::handle_page_fault(CpuId cpu, VirtAddr va, std::uint32_t error_code) {
  const std::optional<Pid> pid = current(cpu);
  if (!pid) throw std::invalid_argument("handle_page_fault: no task is current on the cpu");
  MmEnv env = impl_->env(cpu);
  MmStruct& mm = *impl_->live_mm(*pid);
  Impl::OpScope op(*impl_, &mm);
  env.charge(CostPhase::kEntry, impl_->config.costs.exception_entry_cycles);
  FaultResult result = do_user_addr_fault(env, mm, va, fault_flags_from_error_code(error_code));
  impl_->stats.count_fault(result.kind);
  if (result.kind == FaultKind::kSigsegv) result.signal = Signal::kSigsegv;
  if (result.kind == FaultKind::kOom) result.signal = Signal::kOomKill;
  if (result.signal != Signal::kNone) {
    impl_->do_exit(env, *pid, result.signal);  // the task dies: no return to user space
    impl_->stats.kills.inc();
  } else {
    env.charge(CostPhase::kExit, impl_->config.costs.exception_exit_cycles);
  }
  op.finish(env, "handle_page_fault");
  return result;
}

bool Kernel::alive(Pid pid) const { return impl_->live_mm(pid) != nullptr; }

std::optional<Signal> Kernel::killed_by(Pid pid) const {
  auto it = impl_->tasks.find(pid);
  if (it == impl_->tasks.end()) return std::nullopt;
  return it->second.killed_by;
}

std::optional<x86::PteVal> Kernel::lookup_pte(Pid pid, VirtAddr va) const {
  const MmStruct* mm = impl_->live_mm(pid);
  if (!mm || va >= x86::kUserVaEnd) return std::nullopt;
  const std::optional<PhysAddr> slot = peek_pte_slot(impl_->port, mm->pgd, va);
  if (!slot) return std::nullopt;
  return impl_->port.peek_pte(*slot);
}

std::vector<InvariantViolation> Kernel::check_invariants() const { return impl_->check(); }

std::uint64_t Kernel::free_frames() const { return impl_->g.pages.nr_free(); }

std::optional<PageInfo> Kernel::page_info(Pfn pfn) const {
  if (!impl_->g.pages.in_use(pfn)) return std::nullopt;
  const Page& page = impl_->g.pages.page(pfn);
  PageInfo info;
  info.refcount = page.refcount;
  info.mapcount = page.mapcount;
  info.anon = page.test(PG_anon);
  info.anon_exclusive = page.test(PG_anon_exclusive);
  info.pgtable = page.test(PG_pgtable);
  info.zero_page = pfn == impl_->g.zero_pfn;
  info.swapcache = page.test(PG_swapcache);
  info.writeback = page.test(PG_writeback);
  info.maybe_pinned = page.maybe_pinned();
  return info;
}

Pfn Kernel::zero_pfn() const { return impl_->g.zero_pfn; }

std::optional<MmInfo> Kernel::mm_info(Pid pid) const {
  const MmStruct* mm = impl_->live_mm(pid);
  if (!mm) return std::nullopt;
  MmInfo info;
  info.pgd = pfn_to_phys(mm->pgd);
  info.pcid = mm->pcid;
  info.cpumask = mm->cpumask;
  info.rss_anon = mm->rss_anon;
  info.nr_ptes = mm->nr_ptes;
  info.nr_pgtables = mm->pgtables.size();
  info.write_protect_seq = mm->write_protect_seq;
  info.rss_swap = mm->rss_swap;
  info.has_pinned = mm->has_pinned;
  for (const auto& [start, vma] : mm->mmap)
    info.vmas.push_back({vma.vm_start, vma.vm_end, vm_flags_to_prot(vma.vm_flags), vma.anon_vma,
                         (vma.vm_flags & VM_DONTCOPY) != 0, (vma.vm_flags & VM_WIPEONFORK) != 0});
  return info;
}

}  // namespace mmusim::mm
