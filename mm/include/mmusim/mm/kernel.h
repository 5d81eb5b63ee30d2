// The OS memory manager's entry points: processes, their mm, syscalls, GUP pins, reclaim and the
// page-fault handler.
//
// This is the facade testbench/ drives. Everything behind it (struct page, VMAs, page tables in
// simulated memory, do_anonymous_page, do_wp_page, do_swap_page, __get_user_pages, GUP-fast,
// copy_page_range, change_protection, try_to_unmap_one, zap) follows mm-semantics.md and the
// kernel's names. Each entry point runs "on" a CPU: the cost of its steps is charged through the
// ArchPort, and TLB maintenance is issued for that CPU as initiator, to the CPUs of the mm's
// cpumask. Other CPUs' entry points may run while one waits in a shootdown (see Concurrency
// below); no other port call may call back into the Kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "mmusim/arch/types.h"
#include "mmusim/arch/x86_paging.h"
#include "mmusim/mm/arch_port.h"
#include "mmusim/mm/cost_profile.h"
#include "mmusim/mm/injections.h"
#include "mmusim/mm/mm_types.h"
#include "mmusim/stats/stats.h"

namespace mmusim::mm {

// How one swap_out goes (scenarios D05 and D09 of mm-semantics.md §5.4).
struct SwapOutOptions {
  // pageout() submits the write and returns: the page stays in the swap cache under
  // PG_writeback until end_writeback(), so a swap-in meanwhile cannot free the swap cache (D05).
  bool async_writeback = false;
  // arch_unmap_one fails (SPARC ADI tag save, §3.13 step 4): the swap reference is released
  // and the entry restored (S0/p1); swap_out returns -EBUSY (D09).
  bool arch_unmap_fails = false;
};

// Errors: calls returning long report errno-style negatives (-ESRCH for an unknown or dead pid,
// -EINVAL, -ENOMEM, -EFAULT, -EBUSY); void calls given an unknown or dead pid, or a CPU with no
// current task, throw std::invalid_argument. Nothing else of the caller's making crashes the
// model. A CPU id >= 64 (CpuMask width) is -EINVAL for long calls.
//
// Concurrency: ArchPort::flush_tlb to other CPUs may let them run Kernel entry points before it
// returns (the machine does while a shootdown waits for acknowledgements). The Kernel keeps the
// locks Linux holds there: mmap_lock (fork, mmap, munmap, mprotect and the madvise flag advices
// write; faults, GUP's slow path and MADV_DONTNEED read), the page-table lock (per entry in this
// model) that wp_page_copy and try_to_unmap_one hold across their shootdowns, and the page lock
// reclaim holds. A call that finds one of them taken waits through ArchPort::cpu_relax; when the
// port cannot wait, a fault returns kSpurious (retry the access) and other calls return -EAGAIN
// (contention deep inside an operation, which only that waiting can resolve, throws
// std::logic_error). Invariants are checked when no operation is suspended any more.

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
  // update). The same pid may be current on several CPUs at once (threads of one process).
  // Switching to the task already current is a no-op. Throws std::invalid_argument for an
  // unknown or dead pid.
  void switch_to(CpuId cpu, Pid pid);
  std::optional<Pid> current(CpuId cpu) const;

  // mmap(addr, len, prot, MAP_PRIVATE|MAP_ANONYMOUS[|MAP_FIXED]). `addr` 0 lets the kernel
  // choose (top-down below 0x7f0000000000). Returns the address, or -EINVAL / -ENOMEM.
  long mmap(CpuId cpu, Pid pid, VirtAddr addr, std::uint64_t len, unsigned prot, bool fixed);

  // munmap(addr, len): 0, or -EINVAL (addr unaligned, len 0, range beyond the user VA). Zaps
  // the range (flush before free, R6), frees page tables no VMA covers any more (after a flush
  // that drops paging-structure caches, R11), splits or removes the VMAs. Pinned pages survive.
  long munmap(CpuId cpu, Pid pid, VirtAddr addr, std::uint64_t len);

  // mprotect(addr, len, prot) (change_protection, §3.12): 0, -EINVAL (addr unaligned, unknown
  // prot bits) or -ENOMEM (range not fully mapped; VMAs before the hole are changed, as Linux
  // does). Write-protects entries; a writable protection sets the write bit only on entries of
  // exclusive anonymous pages (KernelConfig::mprotect_write_exclusive). The changed range is
  // flushed before returning (R5). VMAs are split at the range edges and merged with compatible
  // neighbours.
  long mprotect(CpuId cpu, Pid pid, VirtAddr addr, std::uint64_t len, unsigned prot);

  // madvise(addr, len, advice): 0, -EINVAL (addr unaligned, unknown advice) or -ENOMEM (the
  // range has holes; the mapped parts are still advised). kDontNeed zaps (R6); the fork advices
  // set or clear VM_DONTCOPY / VM_WIPEONFORK, splitting and merging VMAs.
  long madvise(CpuId cpu, Pid pid, VirtAddr addr, std::uint64_t len, Advice advice);

  // fork(): returns the child's pid, or -ENOMEM (nothing of the child remains), or -ESRCH.
  // The child is current nowhere until switch_to. Maybe-pinned exclusive pages are copied for
  // the child at once (B01); VM_DONTCOPY areas are not inherited, VM_WIPEONFORK areas are empty.
  long fork(CpuId cpu, Pid parent);

  // exit(): zaps the address space (flush before free, R6) and frees it. The pid becomes dead
  // and is current nowhere: `cpu`, if it ran the task, loads swapper_pg_dir; other CPUs that ran
  // it keep the dead root in CR3 (a lazy-TLB mm, no remote CR3 write) until their next
  // switch_to, which frees it. If another operation on this mm is in flight (waiting in a
  // shootdown), the teardown happens when that one returns. Pins taken on it stay valid and keep
  // their pages allocated until unpinned. Throws std::invalid_argument for an unknown or dead
  // pid.
  void exit(CpuId cpu, Pid pid);

  // The #PF handler for the task current on `cpu`; charges exception entry and exit. When the
  // result carries a signal the task was killed (torn down as at exit). kSpurious also covers
  // "retry": a lock the fault needs is held by an operation waiting in a shootdown on another CPU
  // and the port cannot wait (ArchPort::cpu_relax). Throws std::invalid_argument when no task is
  // current on `cpu`.
  FaultResult handle_page_fault(CpuId cpu, VirtAddr va, std::uint32_t error_code);

  // ---- GUP (§3.8-§3.10) ----
  // One page at `va` of `pid` with gup_flags (GupFlags). Returns a handle id >= 1, or -EINVAL
  // (not exactly one of FOLL_GET/FOLL_PIN, FOLL_LONGTERM without FOLL_PIN, unknown bits),
  // -ESRCH, -EFAULT (no VMA, the VMA forbids the access (check_vma_flags), or a fault gave
  // SIGBUS), -ENOMEM (a fault ran out of memory; the process is not killed), -EAGAIN (see
  // Concurrency above).
  // pin_user_pages: the slow path (__get_user_pages: follow_page_pte, faultin_page with
  // FAULT_FLAG_WRITE or FAULT_FLAG_UNSHARE, retry). pin_user_pages_fast: GUP-fast first, the slow
  // path on any bail-out; when `pid` is not current on `cpu` there is no current->mm to walk
  // locklessly, and the slow path is used directly.
  long pin_user_pages(CpuId cpu, Pid pid, VirtAddr va, unsigned gup_flags);
  long pin_user_pages_fast(CpuId cpu, Pid pid, VirtAddr va, unsigned gup_flags);
  // pin_user_pages_fast split at the point a concurrent operation can interleave (§4.4):
  // begin disables interrupts on `cpu`, samples write_protect_seq and reads the entry (G1/Q1)
  // and returns a cursor id >= 1 (or the errors above); end, on the same cpu, grabs the page,
  // rereads the entry, checks gup_must_unshare, enables interrupts and rechecks the sequence
  // (G2-G4/Q3), falling back to the slow path on any bail-out. end returns the handle id or
  // -errno; -EINVAL for an unknown cursor. begin returns -EBUSY while a cursor of the same cpu
  // is open (one interrupts-off section per CPU). While any cursor is open, page tables freed
  // by other operations are kept until it ends (§4.4 (c)).
  long gup_fast_begin(CpuId cpu, Pid pid, VirtAddr va, unsigned gup_flags);
  long gup_fast_end(long cursor);
  // unpin_user_page / put_page of a FOLL_GET handle: 0, or -EINVAL for an unknown id. A pinned
  // anonymous page that is no longer exclusive fails §3.10's sanity check: with
  // check_invariants the pin is still released and InvariantError ("I3") is thrown.
  long unpin_user_page(CpuId cpu, long pin_id);
  // DMA through a pin or reference (HW8): reads/writes the frame it holds with read_phys /
  // write_phys, bypassing every TLB. `offset` is within the 4 KiB page. 0, or -EINVAL (unknown
  // id, len 0, or offset + len beyond the page); device_write on a pin of the shared zero page
  // (B16) is -EFAULT.
  long device_read(long pin_id, std::uint64_t offset, void* dst, std::size_t len);
  long device_write(long pin_id, std::uint64_t offset, const void* src, std::size_t len);

  // ---- reclaim (§3.13, §3.14) ----
  // Reclaim of the anonymous page mapped at `va` in `pid` (shrink_page_list on one page): 0
  // (written to swap, every mapping replaced by a swap entry, the page freed unless another
  // reference keeps it in the swap cache), -EBUSY (maybe pinned: refused before or during
  // try_to_unmap), -ENOMEM (no free slot, or no swap device), -EFAULT (nothing present there,
  // the zero page, no VMA), -EAGAIN (the page or its entry is locked by an operation waiting in
  // a shootdown: reclaim skips it), -EINVAL (cpu), -ESRCH.
  long swap_out(CpuId cpu, Pid pid, VirtAddr va, const SwapOutOptions& options = SwapOutOptions{});
  // The swap I/O that swap_out(async_writeback) left in flight completes (end_page_writeback):
  // PG_writeback clears, and a swap-cache page nobody maps or refers to any more is freed (the
  // next reclaim pass would take it). Returns how many pages completed, or -EINVAL (cpu).
  long end_writeback(CpuId cpu);
  // swapoff of the swap device (try_to_unuse, unuse_pte): every swap entry becomes a present R/O
  // entry, not exclusive; then the device is gone. 0, -EINVAL (no swap device active), -ENOMEM.
  long swapoff(CpuId cpu);
  // echo 4 > /proc/PID/clear_refs (§3.20, M02): soft-dirty clearing; returns the number of
  // entries write-protected (pages that look pinned are skipped), or -ESRCH / -EINVAL.
  long clear_refs(CpuId cpu, Pid pid);
  // task_numa_work's scan of [addr, addr + len) (§3.20, M01): present entries of accessible
  // areas become protnone; the next access is a NUMA hint fault. Returns the entries changed, or
  // -EINVAL (unaligned or empty range), -ESRCH.
  long numa_scan(CpuId cpu, Pid pid, VirtAddr addr, std::uint64_t len);

  // ---- introspection (oracles, tests, reports); never charges cycles ----
  bool alive(Pid pid) const;
  std::optional<Signal> killed_by(Pid pid) const;  // set when a fault killed the task
  // The leaf entry mapping `va` in `pid`, if the page tables reach a PTE for it (present entries,
  // swap entries and PROT_NONE entries alike: this is the raw 64-bit value).
  std::optional<x86::PteVal> lookup_pte(Pid pid, VirtAddr va) const;
  std::vector<InvariantViolation> check_invariants() const;
  std::uint64_t free_frames() const;
  // struct page of `pfn`; nullopt for frame 0, frames beyond the port, and free frames.
  std::optional<PageInfo> page_info(Pfn pfn) const;
  Pfn zero_pfn() const;
  std::optional<MmInfo> mm_info(Pid pid) const;  // nullopt for an unknown or dead pid
  std::vector<PinInfo> pins() const;             // outstanding pins and references, by id
  std::optional<PinInfo> pin(long id) const;
  // The frame the pin holds is the frame mapped (present) at its address in its process now;
  // false for an unknown id, a dead process or an address mapped by no present entry.
  bool pin_consistent(long id) const;
  // The faults the last pin_user_pages* / gup_fast_end call raised through faultin_page, in
  // order (empty when GUP-fast succeeded or no fault was needed).
  const std::vector<FaultKind>& last_gup_faults() const;
  std::uint64_t free_swap_slots() const;  // 0 when no swap device is active

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mmusim::mm
