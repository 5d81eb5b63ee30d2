// Test helper: builds 4-level x86-64 page tables by hand in a PhysMem through the backdoor (no
// statistics), one fixed table frame per level, so tests can set each level's flags. Two VAs
// that differ in an upper index share the lower table frames (both PDEs point to the one PT).
#pragma once

#include "mmusim/arch/x86_paging.h"
#include "mmusim/machine/phys_mem.h"

namespace mmusim::machine::testing {

struct PageTables {
  static constexpr Pfn kPml4 = 1, kPdpt = 2, kPd = 3, kPt = 4;
  PhysMem& mem;

  PhysAddr root() const { return pfn_to_phys(kPml4); }
  static PhysAddr table(unsigned level) {
    return pfn_to_phys(level == 4 ? kPml4 : level == 3 ? kPdpt : level == 2 ? kPd : kPt);
  }
  PhysAddr entry(VirtAddr va, unsigned level) const { return x86::entry_addr(table(level), va, level); }
  // Maps `va` to `pfn` with leaf flags `leaf`; upper levels get `upper` (default _PAGE_TABLE
  // without A/D, so tests see the walker set A).
  void map(VirtAddr va, Pfn pfn, x86::PteVal leaf,
           x86::PteVal upper = x86::kPresent | x86::kRw | x86::kUser) {
    mem.poke64(entry(va, 4), x86::pfn_pte(kPdpt, upper));
    mem.poke64(entry(va, 3), x86::pfn_pte(kPd, upper));
    mem.poke64(entry(va, 2), x86::pfn_pte(kPt, upper));
    mem.poke64(entry(va, 1), x86::pfn_pte(pfn, leaf));
  }
  // Maps the 2 MiB page containing `va` to `pfn` (2 MiB aligned) with a PS=1 PDE.
  void map_2m(VirtAddr va, Pfn pfn, x86::PteVal leaf,
              x86::PteVal upper = x86::kPresent | x86::kRw | x86::kUser) {
    mem.poke64(entry(va, 4), x86::pfn_pte(kPdpt, upper));
    mem.poke64(entry(va, 3), x86::pfn_pte(kPd, upper));
    mem.poke64(entry(va, 2), x86::pfn_pte(pfn, leaf | x86::kPse));
  }
  // Maps the 1 GiB page containing `va` to `pfn` (1 GiB aligned) with a PS=1 PDPTE.
  void map_1g(VirtAddr va, Pfn pfn, x86::PteVal leaf,
              x86::PteVal upper = x86::kPresent | x86::kRw | x86::kUser) {
    mem.poke64(entry(va, 4), x86::pfn_pte(kPdpt, upper));
    mem.poke64(entry(va, 3), x86::pfn_pte(pfn, leaf | x86::kPse));
  }
  x86::PteVal get(VirtAddr va, unsigned level) const { return mem.peek64(entry(va, level)); }
  void set(VirtAddr va, unsigned level, x86::PteVal v) { mem.poke64(entry(va, level), v); }
};

}  // namespace mmusim::machine::testing
