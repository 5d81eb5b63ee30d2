#include "mmusim/machine/page_walker.h"

#include <stdexcept>

namespace mmusim::machine {

using stats::Unit;
namespace pf = x86;

PageWalker::Stats::Stats(stats::Group& parent, const std::string& name)
    : group(name, &parent),
      walks(group, "walks", Unit::kCount, "page walks started"),
      walk_cycles(group, "walk_cycles", Unit::kCycles,
                  "latency of one walk: start + paging-structure-cache lookups + PTE reads + "
                  "A/D write-backs"),
      pte_reads(group, "pte_reads", Unit::kCount, "paging-structure entries read from memory"),
      ad_writes(group, "ad_writes", Unit::kCount,
                "locked write-backs setting Accessed/Dirty bits (SDM 4.8)"),
      faults_group("faults", &group),
      not_present(faults_group, "not_present", Unit::kCount, "walks ending in a non-present entry"),
      protection(faults_group, "protection", Unit::kCount,
                 "walks ending in a permission violation (error code P=1)"),
      reserved(faults_group, "reserved", Unit::kCount,
               "walks meeting a reserved bit (error code RSVD)"),
      pages_group("pages", &group),
      page_4k(pages_group, "4k", Unit::kCount, "walks that completed with a 4 KiB translation"),
      page_2m(pages_group, "2m", Unit::kCount,
              "walks that completed with a 2 MiB translation (PS=1 PDE)"),
      page_1g(pages_group, "1g", Unit::kCount,
              "walks that completed with a 1 GiB translation (PS=1 PDPTE)") {}

PageWalker::PageWalker(const WalkerParams& params, PhysMem& memory, stats::Group& parent,
                       const std::string& name)
    : params_(params),
      mem_(memory),
      stats_(parent, name),
      pml4e_cache_(params.pml4e_cache, 4, stats_.group, "pml4e_cache"),
      pdpte_cache_(params.pdpte_cache, 3, stats_.group, "pdpte_cache"),
      pde_cache_(params.pde_cache, 2, stats_.group, "pde_cache") {}

WalkResult PageWalker::walk(PhysAddr cr3_root, Pcid pcid, VirtAddr va, AccessType type,
                            Privilege priv) {
  WalkResult r;
  r.cycles = params_.walk_start_cycles;
  stats_.walks.inc();
  // A locked A/D write-back that finds the entry changed since it was read restarts the walk, as
  // the hardware does. Within one synchronous walk nothing else runs, so this never loops; the
  // bound keeps a future concurrent memory model from spinning silently.
  for (int attempt = 0; attempt < 16; ++attempt) {
    if (try_walk(cr3_root, pcid, va, type, priv, r) == Progress::kDone) {
      record(r);
      return r;
    }
  }
  throw std::logic_error("page walk restarted 16 times: page tables changing under the walker");
}

PagingStructureCache* PageWalker::cache_for(unsigned level) {
  switch (level) {
    case 4: return &pml4e_cache_;
    case 3: return &pdpte_cache_;
    case 2: return &pde_cache_;
    default: return nullptr;
  }
}

// Deepest cache first (SDM §4.10.3.2: the processor may use the PDE cache, else the PDPTE cache,
// else the PML4E cache); each enabled cache consulted costs its hit_cycles.
PageWalker::Start PageWalker::consult_caches(PhysAddr cr3_root, Pcid pcid, VirtAddr va,
                                             WalkResult& r) {
  Start st;
  st.at = PwcEntry{cr3_root & kModelAddrMask, true, true, false};
  for (PagingStructureCache* c : {&pde_cache_, &pdpte_cache_, &pml4e_cache_}) {
    if (!c->enabled()) continue;
    r.cycles += c->hit_cycles();
    r.pwc_cycles += c->hit_cycles();
    if (const std::optional<PwcEntry> e = c->lookup(pcid, va)) {
      st.level = c->level() - 1;
      st.at = *e;
      return st;
    }
  }
  return st;
}

// Reserved bits (SDM 4.5, tables 4-14..4-20): address bits above MAXPHYADDR at every level; PS in
// a PML4E; bits 29:13 of a 1 GiB leaf and 20:13 of a 2 MiB leaf (bit 12 is their PAT bit).
bool PageWalker::reserved_bits(x86::PteVal e, unsigned level) {
  if ((e & kRsvdAddrBits) != 0) return true;
  const bool ps = (e & x86::kPse) != 0;
  if (level == 4) return ps;
  if (level == 3 && ps) return (e & kRsvd1GBits) != 0;
  if (level == 2 && ps) return (e & kRsvd2MBits) != 0;
  return false;
}

PageWalker::Progress PageWalker::try_walk(PhysAddr cr3_root, Pcid pcid, VirtAddr va,
                                          AccessType type, Privilege priv, WalkResult& r) {
  const Start st = consult_caches(cr3_root, pcid, va, r);
  r.start_level = st.level;
  Step steps[x86::kLevels];
  PwcEntry rights[x86::kLevels];  // per entry read: its table pointer and the rights down to it
  unsigned n = 0;
  bool rw = st.at.writable, us = st.at.user, nx = st.at.nx;
  PhysAddr table = st.at.table;
  unsigned leaf_level = 0;
  for (unsigned level = st.level; level >= 1; --level) {
    Step& s = steps[n++];
    s.addr = x86::entry_addr(table, va, level);
    s.value = mem_.read64(s.addr);
    r.cycles += mem_.read_cost();
    ++r.pte_reads;
    if (!x86::pte_present(s.value)) {
      fill_caches(pcid, va, steps, rights, st.level, n - 1, false);
      fault(r, FaultKind::kNotPresent, level, type, priv);
      return Progress::kDone;
    }
    if (reserved_bits(s.value, level)) {
      fill_caches(pcid, va, steps, rights, st.level, n - 1, false);
      fault(r, FaultKind::kReserved, level, type, priv);
      return Progress::kDone;
    }
    rw = rw && (s.value & x86::kRw) != 0;    // HW1: RW ANDed across levels
    us = us && (s.value & x86::kUser) != 0;  // HW1: US ANDed across levels
    nx = nx || (s.value & x86::kNx) != 0;    // NX ORed across levels
    table = s.value & kModelAddrMask;
    rights[n - 1] = PwcEntry{table, rw, us, nx};
    // PS=1 in a PDPTE maps a 1 GiB page, in a PDE a 2 MiB page (SDM 4.5, tables 4-16..4-18).
    if (level == 1 || (s.value & x86::kPse) != 0) {
      leaf_level = level;
      break;
    }
  }
  const unsigned upper = n - 1;  // entries read above the leaf
  // Permission checks on the effective rights (SDM 4.6), CR0.WP=1, no SMEP/SMAP.
  const bool user = priv == Privilege::kUser;
  if ((user && !us) || (type == AccessType::kStore && !rw) || (type == AccessType::kFetch && nx)) {
    fill_caches(pcid, va, steps, rights, st.level, upper, false);
    fault(r, FaultKind::kProtection, leaf_level, type, priv);
    return Progress::kDone;
  }
  const bool set_dirty = type == AccessType::kStore;
  if (!set_accessed_dirty(steps, n, set_dirty, r)) return Progress::kRetry;
  fill_caches(pcid, va, steps, rights, st.level, upper, true);
  const x86::PteVal leaf = steps[n - 1].value;
  const PageSize size = static_cast<PageSize>(leaf_level - 1);
  r.status = WalkResult::Status::kOk;
  r.entry.size = size;
  r.entry.pfn = phys_to_pfn(leaf & kModelAddrMask & ~(page_bytes(size) - 1));
  r.entry.writable = rw;
  r.entry.user = us;
  r.entry.nx = nx;
  r.entry.dirty = set_dirty || x86::pte_dirty(leaf);
  r.entry.global = (leaf & x86::kGlobal) != 0;
  return Progress::kDone;
}

// Sets A on every entry read (and D on the leaf for a store) with one locked compare-exchange per
// entry whose bits are clear, so a concurrent software update is never lost (HW3). D is set only
// if the leaf is still the present, writable value the permission check used: the compare fails
// otherwise and the walk restarts, re-reading (and re-checking) the tables. Returns false when a
// compare failed.
bool PageWalker::set_accessed_dirty(const Step* steps, unsigned count, bool set_dirty,
                                    WalkResult& r) {
  for (unsigned i = 0; i < count; ++i) {
    const bool leaf = i == count - 1;
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

// Caches the first `count` entries read (non-leaf, present, no reserved bit: the caller passes
// only those) whose Accessed bit is set: already in memory, or by this walk (`accessed_set`).
// SDM §4.10.3.1 creates paging-structure-cache entries only for entries with A=1.
void PageWalker::fill_caches(Pcid pcid, VirtAddr va, const Step* steps, const PwcEntry* rights,
                             unsigned start_level, unsigned count, bool accessed_set) {
  for (unsigned i = 0; i < count; ++i) {
    if (!accessed_set && !x86::pte_young(steps[i].value)) continue;
    if (PagingStructureCache* c = cache_for(start_level - i)) c->fill(pcid, va, rights[i]);
  }
}

void PageWalker::invalidate_pcid(Pcid pcid) {
  pml4e_cache_.invalidate_pcid(pcid);
  pdpte_cache_.invalidate_pcid(pcid);
  pde_cache_.invalidate_pcid(pcid);
}

void PageWalker::invalidate_all() {
  pml4e_cache_.invalidate_all();
  pdpte_cache_.invalidate_all();
  pde_cache_.invalidate_all();
}

void PageWalker::invalidate_address(Pcid pcid, VirtAddr va) {
  pml4e_cache_.invalidate_address(pcid, va);
  pdpte_cache_.invalidate_address(pcid, va);
  pde_cache_.invalidate_address(pcid, va);
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
  if (r.ok()) {
    switch (r.entry.size) {
      case PageSize::k4K: stats_.page_4k.inc(); break;
      case PageSize::k2M: stats_.page_2m.inc(); break;
      case PageSize::k1G: stats_.page_1g.inc(); break;
    }
    return;
  }
  switch (r.fault) {
    case FaultKind::kNotPresent: stats_.not_present.inc(); break;
    case FaultKind::kProtection: stats_.protection.inc(); break;
    case FaultKind::kReserved: stats_.reserved.inc(); break;
  }
}

}  // namespace mmusim::machine
