#include "pgtable.h"

#include <algorithm>

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

void free_pgtables(MmEnv& env, MmStruct& mm) {
  for (Pfn pfn : mm.pgtables) put_page(env, pfn);
  mm.pgtables.clear();
  mm.nr_ptes = 0;
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
