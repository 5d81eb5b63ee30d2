#include "mmusim/machine/mmu.h"

namespace mmusim::machine {

using stats::Unit;

bool tlb_entry_permits(const TlbEntry& e, AccessType type, Privilege priv) {
  if (priv == Privilege::kUser && !e.user) return false;
  if (type == AccessType::kStore && !e.writable) return false;
  if (type == AccessType::kFetch && e.nx) return false;
  return true;
}

Mmu::Stats::Stats(stats::Group& parent)
    : group("mmu", &parent),
      faults(group, "faults", Unit::kCount, "translations ending in #PF"),
      dirty_rewalks(group, "dirty_rewalks", Unit::kCount,
                    "stores hitting a TLB entry with D=0, re-walked to set D (SDM 4.8)"),
      permission_rewalks(group, "permission_rewalks", Unit::kCount,
                         "TLB hits not permitting the access, re-walked before #PF") {}

Mmu::Mmu(const MachineConfig& config, PhysMem& memory, stats::Group& parent)
    : dtlb_(config.dtlb, parent, "dtlb"),
      walker_(config.walker, memory, parent, "walker"),
      stats_(parent) {}

Translation Mmu::translate(PhysAddr cr3_root, Pcid pcid, VirtAddr va, AccessType type,
                           Privilege priv) {
  Translation t;
  t.cycles = dtlb_.hit_cycles();
  const std::optional<TlbEntry> hit = dtlb_.lookup(pcid, va, type);
  if (!hit) {
    t.path = Translation::Path::kMissWalk;
    return walk_and_fill(cr3_root, pcid, va, type, priv, t);
  }
  if (!tlb_entry_permits(*hit, type, priv)) {
    stats_.permission_rewalks.inc();
    t.path = Translation::Path::kPermissionRewalk;
    return walk_and_fill(cr3_root, pcid, va, type, priv, t);
  }
  if (type == AccessType::kStore && !hit->dirty) {
    stats_.dirty_rewalks.inc();
    t.path = Translation::Path::kDirtyRewalk;
    return walk_and_fill(cr3_root, pcid, va, type, priv, t);
  }
  t.status = Translation::Status::kOk;
  t.path = Translation::Path::kHit;
  t.pa = pfn_to_phys(hit->pfn) | (va & (kPageSize - 1));
  return t;
}

Translation Mmu::walk_and_fill(PhysAddr cr3_root, Pcid pcid, VirtAddr va, AccessType type,
                               Privilege priv, Translation t) {
  const WalkResult w = walker_.walk(cr3_root, va, type, priv);
  t.cycles += w.cycles;
  if (!w.ok()) {
    stats_.faults.inc();
    t.status = Translation::Status::kFault;
    t.error_code = w.error_code;
    return t;
  }
  dtlb_.fill(pcid, va, w.entry);
  t.status = Translation::Status::kOk;
  t.pa = pfn_to_phys(w.entry.pfn) | (va & (kPageSize - 1));
  return t;
}

}  // namespace mmusim::machine
