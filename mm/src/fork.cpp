#include "fork.h"

#include <cerrno>
#include <stdexcept>

#include "pgtable.h"
#include "tlb.h"

namespace mmusim::mm {
namespace {

using x86::PteVal;

// ptep_set_wrprotect: an atomic clear of the write bit (a locked RMW on x86), so a dirty bit the
// walker sets concurrently is kept. Returns the write-protected value.
PteVal ptep_set_wrprotect(MmEnv& env, PhysAddr ptep, PteVal pte) {
  PhaseScope scope(env.port, CostPhase::kPteUpdate);
  PteVal seen = env.port.xchg_pte(ptep, pte & ~x86::kRw);
  if (seen != pte) env.port.write_pte(ptep, seen & ~x86::kRw);  // the walker set A/D meanwhile
  return seen & ~x86::kRw;
}

// copy_present_pte. Pre: both PTLs held, seq(src) odd for COW mappings (B3). Post (A.3): an
// anonymous page is mapped R/O in both mms, EXCL clear, mapcount and refcount +1; the zero page
// is shared as is (special, no counts); the child entry is old.
void copy_present_pte(MmEnv& env, MmStruct& dst_mm, PhysAddr dst_ptep, PhysAddr src_ptep,
                      PteVal pte, bool cow) {
  env.charge(CostPhase::kPteUpdate, env.costs.pte_copy_cycles);
  if (!x86::pte_special(pte)) {
    const Pfn pfn = x86::pte_pfn(pte);
    get_page(env, pfn);                // I13: the reference before the mapcount
    page_try_dup_anon_rmap(env, pfn);  // no pins in this model: never fails
    ++dst_mm.rss_anon;
  }
  // The page is now possibly shared: neither mapping may stay writable (I1). The parent's stale
  // writable translations are flushed once, at the end of dup_mmap (R3).
  if (cow && x86::pte_write(pte)) pte = ptep_set_wrprotect(env, src_ptep, pte);
  PhaseScope scope(env.port, CostPhase::kPteUpdate);
  env.port.write_pte(dst_ptep, pte & ~x86::kAccessed);  // pte_mkold
}

// copy_page_range for one VMA, inside the write_protect_seq bracket (B3). Returns false when a
// child page table could not be allocated.
bool copy_page_range(MmEnv& env, MmStruct& dst_mm, MmStruct& src_mm, const VmArea& vma) {
  const bool cow = is_cow_mapping(vma.vm_flags);
  if (cow) ++src_mm.write_protect_seq;  // odd: GUP-fast pins taken now will back off (I21)
  VirtAddr dst_table_va = 1;            // PTE table currently locked in the child (1: none)
  PhysAddr dst_table = 0;
  const bool ok = walk_pte_range(env, src_mm, vma.vm_start, vma.vm_end,
                                 [&](PhysAddr src_ptep, VirtAddr va) {
    PteVal pte;
    {
      PhaseScope scope(env.port, CostPhase::kPteUpdate);
      pte = env.port.read_pte(src_ptep);
    }
    if (x86::pte_none(pte)) return true;
    if (!x86::pte_present(pte))
      throw std::logic_error("copy_page_range: non-present entry (swap and migration entries arrive with issue 4)");
    const VirtAddr table_va = va & ~((VirtAddr{1} << x86::level_shift(2)) - 1);
    if (table_va != dst_table_va) {
      const std::optional<PhysAddr> table = pte_table_alloc(env, dst_mm, va);
      if (!table) return false;
      env.charge(CostPhase::kPteUpdate, 2 * env.costs.ptl_cycles);  // both tables' PTLs
      dst_table = *table;
      dst_table_va = table_va;
    }
    copy_present_pte(env, dst_mm, pte_offset(dst_table, va), src_ptep, pte, cow);
    return true;
  });
  if (cow) ++src_mm.write_protect_seq;  // even again
  return ok;
}

}  // namespace

int dup_mmap(MmEnv& env, MmStruct& oldmm, MmStruct& mm) {
  int err = 0;
  for (const auto& [start, vma] : oldmm.mmap) {
    env.charge(CostPhase::kAlloc, env.costs.vma_copy_cycles);  // vm_area_dup + anon_vma_fork
    mm.mmap.emplace(start, vma);
    // An area without anon_vma has nothing but zero-page entries: the child refaults them (A09).
    if (!vma.anon_vma) continue;
    if (!copy_page_range(env, mm, oldmm, vma)) {
      err = -ENOMEM;
      break;
    }
  }
  // R3: the parent's entries were write-protected without per-entry flushes; no writable
  // translation may survive fork's return (race T1). Done on failure too: some entries may
  // already be write-protected.
  flush_tlb_mm(env, oldmm);
  return err;
}

}  // namespace mmusim::mm
