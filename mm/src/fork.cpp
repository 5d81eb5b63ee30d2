#include "fork.h"

#include <cerrno>
#include <stdexcept>

#include "debug_vm.h"
#include "locks.h"
#include "pgtable.h"
#include "pte.h"
#include "swap.h"
#include "tlb.h"

namespace mmusim::mm {
namespace {

// The child's side of one copy_pte_range step.
struct ForkDst {
  MmStruct& mm;
  PhysAddr ptep;
  VirtAddr address;
};

void set_child_pte(MmEnv& env, const ForkDst& dst, PteVal pte) {
  PhaseScope scope(env.port, CostPhase::kPteUpdate);
  env.port.write_pte(dst.ptep, pte);
}

// copy_present_page: the eager copy for the child of a maybe-pinned exclusive page (A.3 row 3).
// The parent's entry and page are untouched: still writable if they were, exclusive, pinned.
// -ENOMEM when no page is left (fork fails).
int copy_present_page(MmEnv& env, const VmArea& vma, const ForkDst& dst, Pfn src) {
  const std::optional<Pfn> page = alloc_page(env);
  if (!page) return -ENOMEM;
  {
    PhaseScope scope(env.port, CostPhase::kZeroCopy);
    env.port.copy_frame(*page, src);
  }
  env.stats.copies.inc();
  env.stats.fork_eager_copies.inc();
  page_add_new_anon_rmap(env, *page, dst.mm, dst.address);  // EXCL in the child (I8a)
  ++dst.mm.rss_anon;
  set_child_pte(env, dst, maybe_mkwrite(pte_mkdirty(mk_pte(*page, vma.vm_flags)), vma.vm_flags));
  return 0;
}

// copy_present_pte. Pre: both PTLs held, seq(src) odd for COW mappings (B3). Post (A.3): an
// anonymous page is mapped R/O in both mms, EXCL clear, mapcount and refcount +1, unless it may
// be pinned, in which case the child got its own copy; the zero page is shared as is (special,
// no counts); the child entry is old and carries no uffd-wp (the child VMA is not registered).
int copy_present_pte(MmEnv& env, MmStruct& src_mm, const VmArea& vma, const ForkDst& dst,
                     PhysAddr src_ptep, PteVal pte) {
  env.charge(CostPhase::kPteUpdate, env.costs.pte_copy_cycles);
  if (!x86::pte_special(pte)) {
    const Pfn pfn = x86::pte_pfn(pte);
    get_page(env, pfn);  // I13: the reference before the mapcount (L12)
    if (!page_try_dup_anon_rmap(env, pfn, src_mm)) {
      put_page(env, pfn);
      return copy_present_page(env, vma, dst, pfn);
    }
    vm_bug_on(env, env.pages.page(pfn).test(PG_anon_exclusive), "copy_present_pte", "I6",
              src_mm.pid, dst.address, pfn, "page still exclusive after a successful dup");
    ++dst.mm.rss_anon;
  }
  // The page is now possibly shared: neither mapping may stay writable (I1). The parent's stale
  // writable translations are flushed once, at the end of dup_mmap (R3).
  if (is_cow_mapping(vma.vm_flags) && x86::pte_write(pte)) {
    env.port.preempt_point(env.cpu, ArchPort::PreemptPoint::kForkBeforeWrprotect);
    pte = ptep_modify(env, src_ptep, pte, pte & ~x86::kRw);  // ptep_set_wrprotect
  }
  set_child_pte(env, dst, pte & ~(x86::kAccessed | x86::kSoftUffdWp));  // pte_mkold
  return 0;
}

// copy_nonpresent_pte for a swap entry: one more reference to the slot (swap_duplicate), the
// exclusive marker dropped in the parent and the child (the page is shared from now on), swap
// uffd-wp dropped for the unregistered child VMA.
void copy_swap_pte(MmEnv& env, const ForkDst& dst, PhysAddr src_ptep, PteVal pte) {
  env.charge(CostPhase::kPteUpdate, env.costs.pte_copy_cycles);
  swap_duplicate(env, pte_swp_offset(pte));
  if (pte_swp_exclusive(pte)) {
    pte &= ~kSwpExclusive;
    PhaseScope scope(env.port, CostPhase::kPteUpdate);
    env.port.write_pte(src_ptep, pte);
  }
  ++dst.mm.rss_swap;
  set_child_pte(env, dst, pte & ~kSwpUffdWp);
}

// copy_page_range for one VMA, inside the write_protect_seq bracket (B3). 0 or -ENOMEM (a child
// page table or an eager copy could not be allocated).
int copy_page_range(MmEnv& env, MmStruct& dst_mm, MmStruct& src_mm, const VmArea& vma) {
  const bool cow = is_cow_mapping(vma.vm_flags);
  const bool bracket = cow && !env.inject.skip_fork_seqcount;  // skip_fork_seqcount: R13 broken
  if (bracket) {
    ++src_mm.write_protect_seq;  // odd: GUP-fast pins taken now will back off (I21)
    publish_write_protect_seq(env.port, src_mm);
  }
  // §4.4 (b): the increment must be visible before the first pin check reads page_count; on
  // x86 the source PTL's locked cmpxchg, taken right after, is that full fence (the model's
  // PTL is no memory operation, so the fence is explicit; skip_fork_seq_fence: R06).
  if (cow && !env.inject.skip_fork_seq_fence) env.port.full_fence();
  VirtAddr dst_table_va = 1;  // PTE table currently locked in the child (1: none)
  PhysAddr dst_table = 0;
  int err = 0;
  walk_pte_range(env, src_mm, vma.vm_start, vma.vm_end, [&](PhysAddr src_ptep, VirtAddr va) {
    ptl_wait_or_throw(env, src_ptep);  // reclaim may hold it across a shootdown
    PteVal pte;
    {
      PhaseScope scope(env.port, CostPhase::kPteUpdate);
      pte = env.port.read_pte(src_ptep);
    }
    if (x86::pte_none(pte)) return true;
    const VirtAddr table_va = va & ~((VirtAddr{1} << x86::level_shift(2)) - 1);
    if (table_va != dst_table_va) {
      const std::optional<PhysAddr> table = pte_table_alloc(env, dst_mm, va);
      if (!table) {
        err = -ENOMEM;
        return false;
      }
      env.charge(CostPhase::kPteUpdate, 2 * env.costs.ptl_cycles);  // both tables' PTLs
      dst_table = *table;
      dst_table_va = table_va;
    }
    const ForkDst dst{dst_mm, pte_offset(dst_table, va), va};
    if (is_swap_pte(pte)) {
      copy_swap_pte(env, dst, src_ptep, pte);
      return true;
    }
    err = copy_present_pte(env, src_mm, vma, dst, src_ptep, pte);
    return err == 0;
  });
  if (bracket) {
    ++src_mm.write_protect_seq;  // even again
    publish_write_protect_seq(env.port, src_mm);
  }
  return err;
}

}  // namespace

int dup_mmap(MmEnv& env, MmStruct& oldmm, MmStruct& mm) {
  int err = 0;
  for (const auto& [start, vma] : oldmm.mmap) {
    if (vma.vm_flags & VM_DONTCOPY) continue;  // MADV_DONTFORK: the child has no mapping (B13)
    env.charge(CostPhase::kAlloc, env.costs.vma_copy_cycles);  // vm_area_dup + anon_vma_fork
    VmArea& child = mm.mmap.emplace(start, vma).first->second;
    if (vma.vm_flags & VM_WIPEONFORK) {  // MADV_WIPEONFORK: the child starts empty (B14)
      child.anon_vma = false;
      continue;
    }
    // An area without anon_vma has nothing but zero-page entries: the child refaults them (A09).
    if (!vma.anon_vma) continue;
    err = copy_page_range(env, mm, oldmm, vma);
    if (err) break;
  }
  // R3: the parent's entries were write-protected without per-entry flushes; no writable
  // translation may survive fork's return (race T1). Done on failure too: some entries may
  // already be write-protected.
  if (!env.inject.skip_fork_flush) flush_tlb_mm(env, oldmm, FlushRule::kFork);
  return err;
}

}  // namespace mmusim::mm
