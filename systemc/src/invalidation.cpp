#include "mmusim/machine/invalidation.h"

#include <utility>

#include "mmusim/machine/mmu.h"

namespace mmusim::machine {

Invalidation Invalidation::page_list(Pcid pcid, std::vector<VirtAddr> pages) {
  Invalidation inv;
  inv.kind = Kind::kPages;
  inv.pcid = pcid;
  inv.pages = std::move(pages);
  return inv;
}

Invalidation Invalidation::range(Pcid pcid, VirtAddr start, VirtAddr end) {
  Invalidation inv;
  inv.kind = Kind::kPages;
  inv.pcid = pcid;
  for (VirtAddr va = page_align_down(start); va < end; va += kPageSize) inv.pages.push_back(va);
  return inv;
}

Invalidation Invalidation::whole_pcid(Pcid pcid) {
  Invalidation inv;
  inv.kind = Kind::kPcid;
  inv.pcid = pcid;
  return inv;
}

Invalidation Invalidation::everything() {
  Invalidation inv;
  inv.kind = Kind::kAll;
  return inv;
}

// Linux's flush_tlb_func: INVLPG per page (which also drops the PCID's paging-structure-cache
// entries, SDM vol. 3A §4.10.4.1), else a whole-context flush.
void apply_invalidation(Mmu& mmu, const Invalidation& inv) {
  switch (inv.kind) {
    case Invalidation::Kind::kPages:
      for (VirtAddr va : inv.pages) mmu.invlpg(inv.pcid, va);
      return;
    case Invalidation::Kind::kPcid:
      mmu.invpcid_single(inv.pcid);
      return;
    case Invalidation::Kind::kAll:
      mmu.invpcid_all(false);
      return;
  }
}

Cycles invalidation_cycles(const CoreParams& core, const Invalidation& inv) {
  switch (inv.kind) {
    case Invalidation::Kind::kPages: return core.invlpg_cycles * inv.pages.size();
    case Invalidation::Kind::kPcid: return core.flush_pcid_cycles;
    case Invalidation::Kind::kAll: return core.flush_all_cycles;
  }
  return 0;
}

std::uint64_t invlpgb_instructions(const Invalidation& inv) {
  return inv.kind == Invalidation::Kind::kPages ? inv.pages.size() : 1;
}

}  // namespace mmusim::machine
