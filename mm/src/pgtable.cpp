#include "pgtable.h"

#include <algorithm>
#include <stdexcept>

#include "tlb.h"

namespace mmusim::mm {
namespace {

using x86::PteVal;

// Size of the VA range one entry of a table at `level` covers.
constexpr VirtAddr entry_span(unsigned level) { return VirtAddr{1} << x86::level_shift(level); }

// First VA of the next entry at `level`.
constexpr VirtAddr next_entry(VirtAddr va, unsigned level) {
  return (va | (entry_span(level) - 1)) + 1;
}

// A zeroed page-table frame (pte_alloc_one / pmd_alloc_one ...).
std::optional<Pfn> pgtable_alloc(MmEnv& env, MmStruct& mm, unsigned level) {
  std::optional<Pfn> pfn = alloc_page(env);
  if (!pfn) return std::nullopt;
  {
    PhaseScope scope(env.port, CostPhase::kAlloc);
    env.port.zero_frame(*pfn);
  }
  env.pages.page(*pfn).set(PG_pgtable);
  env.stats.pgtables_allocated.inc();
  mm.pgtables.push_back(*pfn);
  if (level == 1) ++mm.nr_ptes;
  return pfn;
}

bool walk_level(MmEnv& env, PhysAddr table, unsigned level, VirtAddr start, VirtAddr end,
                const PteVisitor& fn) {
  for (VirtAddr va = start; va < end; va = next_entry(va, level)) {
    const PhysAddr slot = x86::entry_addr(table, va, level);
    if (level == 1) {
      if (!fn(slot, va)) return false;
      continue;
    }
    PteVal entry;
    {
      PhaseScope scope(env.port, CostPhase::kPteUpdate);
      entry = env.port.read_pte(slot);
    }
    if (!x86::pte_present(entry)) continue;
    const VirtAddr sub_end = std::min(end, next_entry(va, level));
    if (!walk_level(env, pfn_to_phys(x86::pte_pfn(entry)), level - 1, va, sub_end, fn))
      return false;
  }
  return true;
}

}  // namespace

std::optional<PhysAddr> pte_table_lookup(MmEnv& env, const MmStruct& mm, VirtAddr va) {
  PhaseScope scope(env.port, CostPhase::kPteUpdate);
  PhysAddr table = pfn_to_phys(mm.pgd);
  for (unsigned level = x86::kLevels; level > 1; --level) {
    const PteVal entry = env.port.read_pte(x86::entry_addr(table, va, level));
    if (!x86::pte_present(entry)) return std::nullopt;
    table = pfn_to_phys(x86::pte_pfn(entry));
  }
  return table;
}

std::optional<PhysAddr> pte_table_alloc(MmEnv& env, MmStruct& mm, VirtAddr va) {
  PhaseScope scope(env.port, CostPhase::kPteUpdate);
  PhysAddr table = pfn_to_phys(mm.pgd);
  for (unsigned level = x86::kLevels; level > 1; --level) {
    const PhysAddr slot = x86::entry_addr(table, va, level);
    PteVal entry = env.port.read_pte(slot);
    if (!x86::pte_present(entry)) {
      std::optional<Pfn> lower = pgtable_alloc(env, mm, level - 1);
      if (!lower) return std::nullopt;
      // pmd_populate and friends: the table is zeroed before it becomes reachable.
      env.charge(CostPhase::kPteUpdate, env.costs.ptl_cycles);
      entry = x86::pfn_pte(*lower, x86::kTableFlags);
      env.port.write_pte(slot, entry);
    }
    table = pfn_to_phys(x86::pte_pfn(entry));
  }
  return table;
}

bool walk_pte_range(MmEnv& env, const MmStruct& mm, VirtAddr start, VirtAddr end,
                    const PteVisitor& fn) {
  return walk_level(env, pfn_to_phys(mm.pgd), x86::kLevels, start, end, fn);
}

namespace {

bool vma_overlaps(const MmStruct& mm, VirtAddr start, VirtAddr end) {
  auto it = mm.mmap.lower_bound(end);  // first VMA starting at or after `end`
  if (it == mm.mmap.begin()) return false;
  --it;
  return it->second.vm_end > start;
}

// Queues the table `pfn` (at `level`) and every table below it; their entries must be none or
// tables (the leaves were zapped).
void free_table_tree(MmEnv& env, MmuGather& tlb, Pfn pfn, unsigned level, VirtAddr base) {
  MmStruct& mm = tlb.mm;
  const PhysAddr table = pfn_to_phys(pfn);
  for (unsigned i = 0; i < x86::kEntriesPerTable; ++i) {
    PteVal e;
    {
      PhaseScope scope(env.port, CostPhase::kPteUpdate);
      e = env.port.read_pte(table + PhysAddr{i} * x86::kPteBytes);
    }
    if (x86::pte_none(e)) continue;
    if (level == 1) throw std::logic_error("free_pgd_range: a freed page table still maps a page");
    free_table_tree(env, tlb, x86::pte_pfn(e), level - 1,
                    base + (VirtAddr{i} << x86::level_shift(level)));
  }
  mm.pgtables.erase(std::find(mm.pgtables.begin(), mm.pgtables.end(), pfn));
  if (level == 1) --mm.nr_ptes;
  tlb.remove_table(pfn, base);
}

void free_level(MmEnv& env, MmuGather& tlb, PhysAddr table, unsigned level, VirtAddr start,
                VirtAddr end) {
  for (VirtAddr va = start; va < end; va = next_entry(va, level)) {
    const PhysAddr slot = x86::entry_addr(table, va, level);
    PteVal e;
    {
      PhaseScope scope(env.port, CostPhase::kPteUpdate);
      e = env.port.read_pte(slot);
    }
    if (!x86::pte_present(e)) continue;
    const VirtAddr span_start = va & ~(entry_span(level) - 1);
    const VirtAddr span_end = span_start + entry_span(level);
    if (vma_overlaps(tlb.mm, span_start, span_end)) {
      if (level > 2)
        free_level(env, tlb, pfn_to_phys(x86::pte_pfn(e)), level - 1, va,
                   std::min(end, span_end));
      continue;
    }
    // pmd_clear / pud_clear: the table leaves the tree now, and is freed after the flush.
    env.charge(CostPhase::kPteUpdate, env.costs.ptl_cycles);
    {
      PhaseScope scope(env.port, CostPhase::kPteUpdate);
      env.port.write_pte(slot, 0);
    }
    free_table_tree(env, tlb, x86::pte_pfn(e), level - 1, span_start);
  }
}

}  // namespace

void free_pgd_range(MmEnv& env, MmuGather& tlb, VirtAddr start, VirtAddr end) {
  free_level(env, tlb, pfn_to_phys(tlb.mm.pgd), x86::kLevels, start, end);
}

PteVal ptep_get_and_clear(MmEnv& env, PhysAddr ptep, PteVal seen) {
  PhaseScope scope(env.port, CostPhase::kPteUpdate);
  if (env.inject.plain_pte_clear) {
    env.port.store_pte(ptep, 0);
    return seen;
  }
  return env.port.xchg_pte(ptep, 0);
}

PteVal ptep_modify(MmEnv& env, PhysAddr ptep, PteVal seen, PteVal value) {
  PhaseScope scope(env.port, CostPhase::kPteUpdate);
  const PteVal was = env.port.xchg_pte(ptep, value);
  if (was == seen) return value;
  // The walker set A/D meanwhile: keep them.
  const PteVal fixed = value | (was & (x86::kAccessed | x86::kDirty));
  env.port.write_pte(ptep, fixed);
  return fixed;
}

std::optional<PhysAddr> peek_pte_slot(const ArchPort& port, Pfn pgd, VirtAddr va) {
  PhysAddr table = pfn_to_phys(pgd);
  for (unsigned level = x86::kLevels; level > 1; --level) {
    const PteVal entry = port.peek_pte(x86::entry_addr(table, va, level));
    if (!x86::pte_present(entry)) return std::nullopt;
    table = pfn_to_phys(x86::pte_pfn(entry));
  }
  return pte_offset(table, va);
}

}  // namespace mmusim::mm
