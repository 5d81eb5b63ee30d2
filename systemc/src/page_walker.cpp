#include "mmusim/machine/page_walker.h"

#include <stdexcept>

namespace mmusim::machine {

using stats::Unit;
namespace pf = x86;

PageWalker::Stats::Stats(stats::Group& parent, const std::string& name)
    : group(name, &parent),
      walks(group, "walks", Unit::kCount, "page walks started"),
      walk_cycles(group, "walk_cycles", Unit::kCycles,
                  "latency of one walk: start + PTE reads + A/D write-backs"),
      pte_reads(group, "pte_reads", Unit::kCount, "paging-structure entries read from memory"),
      ad_writes(group, "ad_writes", Unit::kCount,
                "locked write-backs setting Accessed/Dirty bits (SDM 4.8)"),
      faults_group("faults", &group),
      not_present(faults_group, "not_present", Unit::kCount, "walks ending in a non-present entry"),
      protection(faults_group, "protection", Unit::kCount,
                 "walks ending in a permission violation (error code P=1)"),
      reserved(faults_group, "reserved", Unit::kCount,
               "walks meeting a reserved bit (error code RSVD)") {}

PageWalker::PageWalker(const WalkerParams& params, PhysMem& memory, stats::Group& parent,
                       const std::string& name)
    : params_(params), mem_(memory), stats_(parent, name) {}

WalkResult PageWalker::walk(PhysAddr cr3_root, VirtAddr va, AccessType type, Privilege priv) {
  WalkResult r;
  r.cycles = params_.walk_start_cycles;
  stats_.walks.inc();
  // A locked A/D write-back that finds the entry changed since it was read restarts the walk, as
  // the hardware does. Within one synchronous walk nothing else runs, so this never loops; the
  // bound keeps a future concurrent memory model from spinning silently.
  for (int attempt = 0; attempt < 16; ++attempt) {
    if (try_walk(cr3_root, va, type, priv, r) == Progress::kDone) {
      record(r);
      return r;
    }
  }
  throw std::logic_error("page walk restarted 16 times: page tables changing under the walker");
}

PageWalker::Progress PageWalker::try_walk(PhysAddr cr3_root, VirtAddr va, AccessType type,
                                          Privilege priv, WalkResult& r) {
  Step steps[x86::kLevels];
  bool rw = true, us = true, nx = false;
  PhysAddr table = cr3_root & kModelAddrMask;
  for (unsigned level = x86::kLevels; level >= 1; --level) {
    Step& s = steps[x86::kLevels - level];
    s.addr = x86::entry_addr(table, va, level);
    s.value = mem_.read64(s.addr);
    r.cycles += mem_.read_cost();
    ++r.pte_reads;
    if (!x86::pte_present(s.value)) {
      fault(r, FaultKind::kNotPresent, level, type, priv);
      return Progress::kDone;
    }
    // Reserved bits (SDM 4.5, tables 4-14..4-20): address bits above MAXPHYADDR at every level;
    // PS in a PML4E.
    if ((s.value & kRsvdAddrBits) != 0 || (level == 4 && (s.value & x86::kPse) != 0)) {
      fault(r, FaultKind::kReserved, level, type, priv);
      return Progress::kDone;
    }
    if ((level == 3 || level == 2) && (s.value & x86::kPse) != 0)
      throw std::logic_error(std::string("page walker: PS=1 in a ") +
                             (level == 3 ? "PDPTE (1 GiB page)" : "PDE (2 MiB page)") +
                             " is not modelled: 4 KiB pages only (huge pages arrive with issue 3)");
    rw = rw && (s.value & x86::kRw) != 0;    // HW1: RW ANDed across levels
    us = us && (s.value & x86::kUser) != 0;  // HW1: US ANDed across levels
    nx = nx || (s.value & x86::kNx) != 0;    // NX ORed across levels
    table = s.value & kModelAddrMask;
  }
  // Permission checks on the effective rights (SDM 4.6), CR0.WP=1, no SMEP/SMAP.
  const bool user = priv == Privilege::kUser;
  if ((user && !us) || (type == AccessType::kStore && !rw) || (type == AccessType::kFetch && nx)) {
    fault(r, FaultKind::kProtection, 1, type, priv);
    return Progress::kDone;
  }
  const bool set_dirty = type == AccessType::kStore;
  if (!set_accessed_dirty(steps, set_dirty, r)) return Progress::kRetry;
  const x86::PteVal leaf = steps[x86::kLevels - 1].value;
  r.status = WalkResult::Status::kOk;
  r.entry.pfn = phys_to_pfn(leaf & kModelAddrMask);
  r.entry.writable = rw;
  r.entry.user = us;
  r.entry.nx = nx;
  r.entry.dirty = set_dirty || x86::pte_dirty(leaf);
  r.entry.global = (leaf & x86::kGlobal) != 0;
  return Progress::kDone;
}

// Sets A on every entry used (and D on the leaf for a store) with one locked compare-exchange per
// entry whose bits are clear, so a concurrent software update is never lost (HW3). D is set only
// if the leaf is still the present, writable value the permission check used: the compare fails
// otherwise and the walk restarts, re-reading (and re-checking) the tables. Returns false when a
// compare failed.
bool PageWalker::set_accessed_dirty(const Step (&steps)[x86::kLevels], bool set_dirty,
                                    WalkResult& r) {
  for (unsigned i = 0; i < x86::kLevels; ++i) {
    const bool leaf = i == x86::kLevels - 1;
    const x86::PteVal want = x86::kAccessed | (leaf && set_dirty ? x86::kDirty : 0);
    const x86::PteVal old = steps[i].value;
    if ((old & want) == want) continue;
    const x86::PteVal found = mem_.cmpxchg64(steps[i].addr, old, old | want);
    r.cycles += mem_.write_cost();
    ++r.ad_writes;
    if (found != old) return false;
  }
  return true;
}

void PageWalker::fault(WalkResult& r, FaultKind kind, unsigned level, AccessType type,
                       Privilege priv) {
  r.status = WalkResult::Status::kFault;
  r.fault = kind;
  r.fault_level = level;
  std::uint32_t ec = 0;
  if (kind != FaultKind::kNotPresent) ec |= pf::kPfPresent;
  if (kind == FaultKind::kReserved) ec |= pf::kPfRsvd;
  if (type == AccessType::kStore) ec |= pf::kPfWrite;
  if (priv == Privilege::kUser) ec |= pf::kPfUser;
  if (type == AccessType::kFetch) ec |= pf::kPfInstr;
  r.error_code = ec;
}

void PageWalker::record(const WalkResult& r) {
  stats_.walk_cycles.sample(r.cycles);
  stats_.pte_reads.inc(r.pte_reads);
  stats_.ad_writes.inc(r.ad_writes);
  if (r.ok()) return;
  switch (r.fault) {
    case FaultKind::kNotPresent: stats_.not_present.inc(); break;
    case FaultKind::kProtection: stats_.protection.inc(); break;
    case FaultKind::kReserved: stats_.reserved.inc(); break;
  }
}

}  // namespace mmusim::machine
