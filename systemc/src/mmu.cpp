#include "mmusim/machine/mmu.h"

#include "mmusim/machine/replacement.h"

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
      faults(group, "faults", Unit::kCount, "translations ending in a fault: a #PF, or a dropped prefetch"),
      dirty_rewalks(group, "dirty_rewalks", Unit::kCount,
                    "stores hitting a TLB entry (L1 or STLB) with D=0, re-walked to set D "
                    "(SDM 4.8)"),
      permission_rewalks(group, "permission_rewalks", Unit::kCount,
                         "TLB hits (L1 or STLB) not permitting the access, re-walked before #PF") {}

Mmu::Mmu(const MachineConfig& config, PhysMem& memory, stats::Group& parent, CpuId cpu)
    : itlb_(config.itlb, parent, "itlb", replacement_seed(config.seed, cpu, "itlb")),
      dtlb_(config.dtlb, parent, "dtlb", replacement_seed(config.seed, cpu, "dtlb")),
      stlb_(config.stlb, parent, "stlb", replacement_seed(config.seed, cpu, "stlb")),
      walker_(config.walker, memory, parent, "walker"),
      stats_(parent) {}

namespace {

// Why a hit cannot complete the access, if it cannot.
enum class HitUse : std::uint8_t { kUse, kPermissionRewalk, kDirtyRewalk };

HitUse classify_hit(const TlbEntry& e, AccessType type, Privilege priv) {
  if (!tlb_entry_permits(e, type, priv)) return HitUse::kPermissionRewalk;
  if (type == AccessType::kStore && !e.dirty) return HitUse::kDirtyRewalk;
  return HitUse::kUse;
}

// A hit that cannot be used as it is: counted by its reason, then re-walked.
Translation::Path rewalk_path(HitUse use, stats::Scalar& permission_rewalks, stats::Scalar& dirty_rewalks) {
  if (use == HitUse::kDirtyRewalk) {
    dirty_rewalks.inc();
    return Translation::Path::kDirtyRewalk;
  }
  permission_rewalks.inc();
  return Translation::Path::kPermissionRewalk;
}

Translation complete(Translation t, const TlbEntry& e, VirtAddr va) {
  t.status = Translation::Status::kOk;
  t.pa = e.translate(va);
  t.page_shift = page_shift(e.size);
  return t;
}

}  // namespace

Translation Mmu::translate_slow(PhysAddr cr3_root, Pcid pcid, VirtAddr va, AccessType type,
                                Privilege priv) {
  Tlb& l1 = l1_for(type);
  Translation t;
  t.cycles = l1.hit_cycles();
  const std::optional<TlbEntry> hit = l1.lookup(pcid, va, type);
  if (!hit) return lookup_stlb(l1, cr3_root, pcid, va, type, priv, t);
  const HitUse use = classify_hit(*hit, type, priv);
  if (use == HitUse::kUse) {
    // Repeated hits of this class on this entry take the L1's hit cache (translate()).
    l1.mark_hit_usable(va, use_class(type, priv));
    t.path = Translation::Path::kHit;
    return complete(t, *hit, va);
  }
  t.path = rewalk_path(use, stats_.permission_rewalks, stats_.dirty_rewalks);
  return walk_and_fill(l1, cr3_root, pcid, va, type, priv, t, false);
}

// L1 miss: the STLB is looked up (its hit_cycles added whether it hits or not). A usable STLB hit
// fills the L1; one needing a re-walk is handled as an L1 hit would be.
Translation Mmu::lookup_stlb(Tlb& l1, PhysAddr cr3_root, Pcid pcid, VirtAddr va, AccessType type,
                             Privilege priv, Translation t) {
  t.cycles += stlb_.hit_cycles();
  const std::optional<TlbEntry> hit = stlb_.lookup(pcid, va, type);
  if (!hit) {
    t.path = Translation::Path::kMissWalk;
    return walk_and_fill(l1, cr3_root, pcid, va, type, priv, t, true);
  }
  l1.record_miss_size(hit->size);
  const HitUse use = classify_hit(*hit, type, priv);
  if (use == HitUse::kUse) {
    l1.fill_after_miss(pcid, va, *hit);  // the L1 lookup just missed
    t.path = Translation::Path::kStlbHit;
    return complete(t, *hit, va);
  }
  t.path = rewalk_path(use, stats_.permission_rewalks, stats_.dirty_rewalks);
  return walk_and_fill(l1, cr3_root, pcid, va, type, priv, t, false);
}

// Walks; on success fills the L1 and the STLB with the walk's entry and translates through it
// (no second lookup). `after_miss`: both levels missed, so both count the miss's page size.
Translation Mmu::walk_and_fill(Tlb& l1, PhysAddr cr3_root, Pcid pcid, VirtAddr va,
                               AccessType type, Privilege priv, Translation t, bool after_miss) {
  const WalkResult w = walker_.walk(cr3_root, pcid, va, type, priv);
  t.cycles += w.cycles;
  t.walk_cycles = w.cycles;
  t.ad_writes = w.ad_writes;
  if (!w.ok()) {
    stats_.faults.inc();
    t.status = Translation::Status::kFault;
    t.error_code = w.error_code;
    return t;
  }
  if (after_miss) {
    l1.record_miss_size(w.entry.size);
    stlb_.record_miss_size(w.entry.size);
  }
  if (after_miss) {  // both lookups just missed (the walk changes no TLB)
    l1.fill_after_miss(pcid, va, w.entry);
    stlb_.fill_after_miss(pcid, va, w.entry);
  } else {
    l1.fill(pcid, va, w.entry);
    stlb_.fill(pcid, va, w.entry);
  }
  return complete(t, w.entry, va);
}

void Mmu::invlpg(Pcid pcid, VirtAddr va) {
  itlb_.invlpg(pcid, va);
  dtlb_.invlpg(pcid, va);
  stlb_.invlpg(pcid, va);
  // INVLPG also drops every paging-structure-cache entry of the current PCID, whatever its
  // address (SDM vol. 2A INVLPG, vol. 3A §4.10.4.1).
  walker_.invalidate_pcid(pcid);
}

void Mmu::invpcid_address(Pcid pcid, VirtAddr va) {
  itlb_.invpcid_address(pcid, va);
  dtlb_.invpcid_address(pcid, va);
  stlb_.invpcid_address(pcid, va);
  walker_.invalidate_pcid(pcid);  // as INVLPG: all PWC entries of the PCID
}

void Mmu::invpcid_single(Pcid pcid) {
  itlb_.invpcid_single(pcid);
  dtlb_.invpcid_single(pcid);
  stlb_.invpcid_single(pcid);
  walker_.invalidate_pcid(pcid);
}

void Mmu::invpcid_all(bool include_global) {
  itlb_.invpcid_all(include_global);
  dtlb_.invpcid_all(include_global);
  stlb_.invpcid_all(include_global);
  walker_.invalidate_all();  // types 2 and 3 both drop every PWC entry of every PCID
}

void Mmu::write_cr3(Pcid new_pcid, bool noflush) {
  if (noflush) return;  // CR3[63]=1: no TLB or PWC entry is invalidated (SDM §4.10.4.1)
  itlb_.write_cr3(new_pcid);
  dtlb_.write_cr3(new_pcid);
  stlb_.write_cr3(new_pcid);
  walker_.invalidate_pcid(new_pcid);
}

// HW7: delivering a #PF invalidates the TLB entries for the faulting address (global ones too,
// as INVLPG) and "all entries in the paging-structure caches that would be used for that linear
// address" in the current PCID (SDM §4.10.4.1).
void Mmu::invalidate_for_fault(Pcid pcid, VirtAddr va) {
  itlb_.invalidate_for_fault(pcid, va);
  dtlb_.invalidate_for_fault(pcid, va);
  stlb_.invalidate_for_fault(pcid, va);
  walker_.invalidate_address(pcid, va);
}

}  // namespace mmusim::machine
