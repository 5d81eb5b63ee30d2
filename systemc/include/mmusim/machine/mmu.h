// One core's address translation: the L1 dTLB in front of the page walker.
//
// translate() follows x86 (SDM vol. 3A §4.10.2-§4.10.4, mm-semantics §1.9):
// - a TLB hit that permits the access, and is not a store through an entry with D=0, completes;
// - a store hitting an entry with cached D=0 re-walks so that the walker sets D in memory (HW3);
//   counted in dirty_rewalks, not as a second miss;
// - a hit that does not permit the access re-walks before raising #PF (the entry may be stale and
//   more restrictive than memory); counted in permission_rewalks; #PF only if the walk faults;
// - a miss walks and fills on success.
// Each path looks the TLB up once; a successful re-walk refills the entry.
#pragma once

#include <cstdint>

#include "mmusim/arch/types.h"
#include "mmusim/machine/core_interfaces.h"
#include "mmusim/machine/machine_config.h"
#include "mmusim/machine/page_walker.h"
#include "mmusim/machine/phys_mem.h"
#include "mmusim/machine/tlb.h"
#include "mmusim/stats/stats.h"

namespace mmusim::machine {

struct Translation {
  enum class Status : std::uint8_t { kOk, kFault };
  enum class Path : std::uint8_t { kHit, kMissWalk, kDirtyRewalk, kPermissionRewalk };
  Status status = Status::kFault;
  Path path = Path::kHit;
  PhysAddr pa = 0;               // when ok()
  std::uint32_t error_code = 0;  // #PF error code when !ok()
  Cycles cycles = 0;             // TLB lookup + any walk

  bool ok() const { return status == Status::kOk; }
};

// True if a cached translation allows the access (CR0.WP=1, no SMEP/SMAP, as the walker).
bool tlb_entry_permits(const TlbEntry& e, AccessType type, Privilege priv);

class Mmu {
 public:
  // Creates the groups "dtlb", "walker" and "mmu" under `parent` (the core's group).
  Mmu(const MachineConfig& config, PhysMem& memory, stats::Group& parent);

  Translation translate(PhysAddr cr3_root, Pcid pcid, VirtAddr va, AccessType type,
                        Privilege priv = Privilege::kUser);

  Tlb& dtlb() { return dtlb_; }
  const Tlb& dtlb() const { return dtlb_; }
  PageWalker& walker() { return walker_; }
  std::uint64_t faults() const { return stats_.faults.value(); }

 private:
  Translation walk_and_fill(PhysAddr cr3_root, Pcid pcid, VirtAddr va, AccessType type,
                            Privilege priv, Translation t);

  Tlb dtlb_;
  PageWalker walker_;

  struct Stats {
    Stats(stats::Group& parent);
    stats::Group group;
    stats::Scalar faults;
    stats::Scalar dirty_rewalks;
    stats::Scalar permission_rewalks;
  } stats_;
};

}  // namespace mmusim::machine
