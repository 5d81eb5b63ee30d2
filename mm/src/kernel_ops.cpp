// Kernel entry points of issue 4: munmap, mprotect, madvise, GUP pins and DMA through them,
// reclaim to swap and swapoff, and the pin introspection.
#include <cerrno>

#include "gup.h"
#include "kernel_impl.h"
#include "locks.h"
#include "mmap.h"
#include "clear_refs.h"
#include "numa.h"
#include "mprotect.h"
#include "pgtable.h"
#include "pte.h"
#include "vmscan.h"

namespace mmusim::mm {

long Kernel::munmap(CpuId cpu, Pid pid, VirtAddr addr, std::uint64_t len) {
  return impl_->mm_syscall(cpu, pid, "munmap", MmapLock::kWrite,
                           [&](MmEnv& env, MmStruct& mm) { return sys_munmap(env, mm, addr, len); });
}

long Kernel::mprotect(CpuId cpu, Pid pid, VirtAddr addr, std::uint64_t len, unsigned prot) {
  return impl_->mm_syscall(cpu, pid, "mprotect", MmapLock::kWrite,
                           [&](MmEnv& env, MmStruct& mm) { return do_mprotect(env, mm, addr, len, prot); });
}

long Kernel::clear_refs(CpuId cpu, Pid pid) {
  // clear_refs takes mmap_lock for write when it clears soft-dirty (it resets VM_SOFTDIRTY).
  return impl_->mm_syscall(cpu, pid, "clear_refs", MmapLock::kWrite,
                           [&](MmEnv& env, MmStruct& mm) { return clear_refs_soft_dirty(env, mm); });
}

long Kernel::numa_scan(CpuId cpu, Pid pid, VirtAddr addr, std::uint64_t len) {
  if (addr % kPageSize || len == 0 || len % kPageSize || addr + len < addr) return -EINVAL;
  // task_numa_work scans under mmap_lock read.
  return impl_->mm_syscall(cpu, pid, "numa_scan", MmapLock::kRead,
                           [&](MmEnv& env, MmStruct& mm) { return change_prot_numa(env, mm, addr, addr + len); });
}

long Kernel::madvise(CpuId cpu, Pid pid, VirtAddr addr, std::uint64_t len, Advice advice) {
  // MADV_DONTNEED zaps under mmap_lock read (concurrent faults allowed); the VMA flag advices
  // change VMAs and take it for write (madvise_need_mmap_write).
  const MmapLock::Mode mode = advice == Advice::kDontNeed ? MmapLock::kRead : MmapLock::kWrite;
  return impl_->mm_syscall(cpu, pid, "madvise", mode,
                           [&](MmEnv& env, MmStruct& mm) { return do_madvise(env, mm, addr, len, advice); });
}

long Kernel::pin_user_pages(CpuId cpu, Pid pid, VirtAddr va, unsigned gup_flags) {
  impl_->last_gup_faults.clear();
  if (long err = check_gup_flags(gup_flags)) return err;
  if (cpu >= kMaxCpus) return -EINVAL;
  MmStruct* mm = impl_->live_mm(pid);
  if (!mm) return -ESRCH;
  MmEnv env = impl_->env(cpu);
  Impl::OpScope op(*impl_, mm);
  impl_->syscall_entry(env);
  const long result = get_user_page(env, *mm, va, gup_flags, impl_->last_gup_faults);
  impl_->syscall_exit(env);
  op.finish(env, "pin_user_pages");
  return result;
}

long Kernel::pin_user_pages_fast(CpuId cpu, Pid pid, VirtAddr va, unsigned gup_flags) {
  const long cursor = gup_fast_begin(cpu, pid, va, gup_flags);
  if (cursor < 0) return cursor;
  return gup_fast_end(cursor);
}

long Kernel::gup_fast_begin(CpuId cpu, Pid pid, VirtAddr va, unsigned gup_flags) {
  impl_->last_gup_faults.clear();
  if (long err = check_gup_flags(gup_flags)) return err;
  if (cpu >= kMaxCpus) return -EINVAL;
  MmStruct* mm = impl_->live_mm(pid);
  if (!mm) return -ESRCH;
  if (va >= x86::kUserVaEnd) return -EFAULT;
  // One interrupts-off section per CPU: a CPU cannot start a second GUP-fast inside the first.
  for (const auto& [id, open] : impl_->g.pins.cursors)
    if (open.cpu == cpu) return -EBUSY;
  MmEnv env = impl_->env(cpu);
  Impl::OpScope op(*impl_, mm);
  impl_->syscall_entry(env);
  const bool is_current = current(cpu) == pid;
  const long cursor = mm::gup_fast_begin(env, *mm, is_current, va, gup_flags);
  op.finish(env, "gup_fast_begin");
  return cursor;
}

long Kernel::gup_fast_end(long cursor) {
  impl_->last_gup_faults.clear();
  auto it = impl_->g.pins.cursors.find(cursor);
  if (it == impl_->g.pins.cursors.end()) return -EINVAL;
  MmEnv env = impl_->env(it->second.cpu);
  MmStruct* mm = impl_->mm_by_id(it->second.mm_id);
  if (mm && mm->dying) mm = nullptr;
  Impl::OpScope op(*impl_, mm);
  const long result = mm::gup_fast_end(env, cursor, mm, impl_->last_gup_faults);
  impl_->syscall_exit(env);
  op.finish(env, "gup_fast_end");
  return result;
}

long Kernel::unpin_user_page(CpuId cpu, long pin_id) {
  if (cpu >= kMaxCpus) return -EINVAL;
  if (!impl_->g.pins.pins.count(pin_id)) return -EINVAL;
  MmEnv env = impl_->env(cpu);
  Impl::OpScope op(*impl_, nullptr);
  impl_->syscall_entry(env);
  const long result = mm::unpin_user_page(env, pin_id);  // may throw InvariantError ("I3")
  impl_->syscall_exit(env);
  op.finish(env, "unpin_user_page");
  return result;
}

namespace {

// The pin `id` and the byte range [offset, offset + len) of its page, or nullptr when either is
// invalid.
const Pin* dma_target(const PinTable& pins, long id, std::uint64_t offset, std::size_t len) {
  auto it = pins.pins.find(id);
  if (it == pins.pins.end() || len == 0 || offset >= kPageSize || len > kPageSize - offset)
    return nullptr;
  return &it->second;
}

}  // namespace

long Kernel::device_read(long pin_id, std::uint64_t offset, void* dst, std::size_t len) {
  const Pin* pin = dma_target(impl_->g.pins, pin_id, offset, len);
  if (!pin || !dst) return -EINVAL;
  // HW8: the device reaches the frame captured at pin time; no CPU translation is involved.
  impl_->port.read_phys(pfn_to_phys(pin->pfn) + offset, dst, len);
  return 0;
}

long Kernel::device_write(long pin_id, std::uint64_t offset, const void* src, std::size_t len) {
  const Pin* pin = dma_target(impl_->g.pins, pin_id, offset, len);
  if (!pin || !src) return -EINVAL;
  if (pin->pfn == impl_->g.zero_pfn) return -EFAULT;  // the shared zero page is never written
  impl_->port.write_phys(pfn_to_phys(pin->pfn) + offset, src, len);
  impl_->g.pages.page(pin->pfn).set(PG_dirty);  // set_page_dirty at unpin in Linux
  return 0;
}

long Kernel::swap_out(CpuId cpu, Pid pid, VirtAddr va, const SwapOutOptions& options) {
  if (cpu >= kMaxCpus) return -EINVAL;
  MmStruct* mm = impl_->live_mm(pid);
  if (!mm) return -ESRCH;
  MmEnv env = impl_->env(cpu);  // reclaim runs in kernel context: no syscall entry or exit
  Impl::OpScope op(*impl_, mm);
  const long result = shrink_page(env, *mm, va, options);
  op.finish(env, "swap_out");
  return result;
}

long Kernel::end_writeback(CpuId cpu) {
  if (cpu >= kMaxCpus) return -EINVAL;
  MmEnv env = impl_->env(cpu);  // the I/O completion runs in interrupt context
  Impl::OpScope op(*impl_, nullptr);
  const long result = end_swap_writeback(env);
  op.finish(env, "end_writeback");
  return result;
}

long Kernel::swapoff(CpuId cpu) {
  if (cpu >= kMaxCpus) return -EINVAL;
  MmEnv env = impl_->env(cpu);
  Impl::OpScope op(*impl_, nullptr);
  impl_->syscall_entry(env);
  const long result = try_to_unuse(env);
  impl_->syscall_exit(env);
  op.finish(env, "swapoff");
  return result;
}

namespace {

PinInfo pin_info(const Pin& pin) {
  return {pin.id, pin.pid, pin.va, pin.pfn, pin.flags, pin.fast};
}

}  // namespace

std::vector<PinInfo> Kernel::pins() const {
  std::vector<PinInfo> out;
  for (const auto& [id, pin] : impl_->g.pins.pins) out.push_back(pin_info(pin));
  return out;
}

std::optional<PinInfo> Kernel::pin(long id) const {
  auto it = impl_->g.pins.pins.find(id);
  if (it == impl_->g.pins.pins.end()) return std::nullopt;
  return pin_info(it->second);
}

bool Kernel::pin_consistent(long id) const {
  auto it = impl_->g.pins.pins.find(id);
  if (it == impl_->g.pins.pins.end()) return false;
  const Pin& pin = it->second;
  const MmStruct* mm = impl_->live_mm(pin.pid);
  if (!mm || mm->id != pin.mm_id) return false;
  const std::optional<PhysAddr> slot = peek_pte_slot(impl_->port, mm->pgd, pin.va);
  if (!slot) return false;
  const PteVal pte = impl_->port.peek_pte(*slot);
  return pte_present(pte) && x86::pte_pfn(pte) == pin.pfn;
}

const std::vector<FaultKind>& Kernel::last_gup_faults() const { return impl_->last_gup_faults; }

std::uint64_t Kernel::free_swap_slots() const { return impl_->g.swap.nr_free(); }

}  // namespace mmusim::mm
