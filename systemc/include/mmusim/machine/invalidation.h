// What a remote TLB invalidation asks of each target CPU (the body of Linux's flush_tlb_func, or
// of the INVLPGB instructions that replace it), and what it costs there. Pure C++: the SystemC
// interconnect carries it to the targets.
#pragma once

#include <cstdint>
#include <vector>

#include "mmusim/arch/types.h"
#include "mmusim/machine/machine_config.h"

namespace mmusim::machine {

class Mmu;

struct Invalidation {
  enum class Kind : std::uint8_t {
    kPages,  // each VA of `pages` in `pcid`, with INVLPG semantics (Mmu::invlpg)
    kPcid,   // every non-global entry of `pcid` (INVPCID type 1, Mmu::invpcid_single)
    kAll,    // every non-global entry of every PCID (INVPCID type 3, Mmu::invpcid_all(false))
  };
  Kind kind = Kind::kPages;
  Pcid pcid = 0;
  std::vector<VirtAddr> pages;  // kPages: the VAs (any address within each page)

  static Invalidation page_list(Pcid pcid, std::vector<VirtAddr> pages);
  // The pages of [start, end) (start rounded down, end up, to 4 KiB).
  static Invalidation range(Pcid pcid, VirtAddr start, VirtAddr end);
  static Invalidation whole_pcid(Pcid pcid);
  static Invalidation everything();
};

// Applies the invalidation to one core's MMU (TLBs and paging-structure caches).
void apply_invalidation(Mmu& mmu, const Invalidation& inv);
// Its cost on that core: core.invlpg_cycles per page, core.flush_pcid_cycles for a PCID,
// core.flush_all_cycles for everything.
Cycles invalidation_cycles(const CoreParams& core, const Invalidation& inv);
// INVLPGB instructions the initiator issues for it: one per page, one for a PCID or everything.
std::uint64_t invlpgb_instructions(const Invalidation& inv);

}  // namespace mmusim::machine
