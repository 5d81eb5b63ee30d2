// x86-64 4-level page-table walker (SDM vol. 3A §4.5): reads the PML4E, PDPTE, PDE and PTE from
// physical memory, computes the effective permissions (RW and US ANDed, NX ORed across the levels,
// HW1), classifies faults with the #PF error code (SDM §4.7), and on success sets the Accessed
// bits of the entries it used and the leaf's Dirty bit for a permitted store (SDM §4.8) as
// locked read-modify-writes (HW3).
//
// Modelled control state: CR0.WP=1 (supervisor writes honour RW), EFER.NXE=1 (bit 63 is NX,
// not reserved), CR4.SMEP=SMAP=0, MAXPHYADDR = kModelMaxPhysAddrBits (46).
// Large pages (PS=1 in a PDPTE or PDE) are outside this model's slice and throw logic_error.
#pragma once

#include <cstdint>
#include <string>

#include "mmusim/arch/types.h"
#include "mmusim/arch/x86_paging.h"
#include "mmusim/machine/core_interfaces.h"
#include "mmusim/machine/machine_config.h"
#include "mmusim/machine/phys_mem.h"
#include "mmusim/machine/tlb.h"
#include "mmusim/stats/stats.h"

namespace mmusim::machine {

// The privilege level of an access (CPL 3 = user, else supervisor).
enum class Privilege : std::uint8_t { kSupervisor, kUser };

// Reserved physical-address bits of a paging entry with MAXPHYADDR = 46: bits [51:46].
inline constexpr x86::PteVal kRsvdAddrBits =
    ((1ull << x86::kMaxPhysAddrBits) - 1) & ~((1ull << kModelMaxPhysAddrBits) - 1);
// Frame-address bits of a paging entry with MAXPHYADDR = 46: bits [45:12].
inline constexpr x86::PteVal kModelAddrMask = ((1ull << kModelMaxPhysAddrBits) - 1) & ~0xfffull;

enum class FaultKind : std::uint8_t { kNotPresent, kProtection, kReserved };

struct WalkResult {
  enum class Status : std::uint8_t { kOk, kFault };
  Status status = Status::kFault;
  // Fault: the #PF error code (x86::kPf*) and its classification. Meaningless when ok().
  std::uint32_t error_code = 0;
  FaultKind fault = FaultKind::kNotPresent;
  unsigned fault_level = 0;  // 4 = PML4E .. 1 = PTE: the level whose entry caused the fault
  // Success: the translation, ready for a TLB fill.
  TlbEntry entry;
  // Cost: walk_start_cycles + pte_reads * read_cycles + ad_writes * write_cycles.
  Cycles cycles = 0;
  unsigned pte_reads = 0;
  unsigned ad_writes = 0;

  bool ok() const { return status == Status::kOk; }
};

class PageWalker {
 public:
  // Registers its statistics in a child group `name` of `parent`.
  PageWalker(const WalkerParams& params, PhysMem& memory, stats::Group& parent,
             const std::string& name = "walker");

  // Walks the tables rooted at `cr3_root` (the PML4's physical address) for an access of `type`
  // at `priv` to `va`. Reads cost memory read_cycles each, A/D write-backs write_cycles each.
  WalkResult walk(PhysAddr cr3_root, VirtAddr va, AccessType type, Privilege priv);

 private:
  struct Step {
    PhysAddr addr = 0;
    x86::PteVal value = 0;
  };
  enum class Progress : std::uint8_t { kDone, kRetry };
  Progress try_walk(PhysAddr cr3_root, VirtAddr va, AccessType type, Privilege priv,
                    WalkResult& r);
  bool set_accessed_dirty(const Step (&steps)[x86::kLevels], bool set_dirty, WalkResult& r);
  void fault(WalkResult& r, FaultKind kind, unsigned level, AccessType type, Privilege priv);
  void record(const WalkResult& r);

  WalkerParams params_;
  PhysMem& mem_;

  struct Stats {
    Stats(stats::Group& parent, const std::string& name);
    stats::Group group;
    stats::Scalar walks;
    stats::Distribution walk_cycles;
    stats::Scalar pte_reads;
    stats::Scalar ad_writes;
    stats::Group faults_group;
    stats::Scalar not_present, protection, reserved;
  } stats_;
};

}  // namespace mmusim::machine
