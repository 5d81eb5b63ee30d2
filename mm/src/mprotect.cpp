// change_protection / change_pte_range (§3.12) and mprotect_fixup.
#include "mprotect.h"

#include <algorithm>
#include <cerrno>

#include "exit.h"
#include "locks.h"
#include "mmap.h"
#include "pgtable.h"
#include "pte.h"
#include "tlb.h"

namespace mmusim::mm {
namespace {

// can_change_pte_writable for a private anonymous entry: only an exclusive page may become
// writable without a fault (I1), and never one carrying uffd-wp (I18) or the zero page.
bool can_change_pte_writable(const MmEnv& env, PteVal pte) {
  if (!env.config.mprotect_write_exclusive || x86::pte_special(pte) || pte_uffd_wp(pte))
    return false;
  const Page& page = env.pages.page(x86::pte_pfn(pte));
  return page.test(PG_anon) && page.test(PG_anon_exclusive);
}

// The entry of a present (or PROT_NONE) `pte` under `vm_flags`: pte_modify with the area's
// vm_page_prot (never writable for private areas), keeping pfn, A/D, soft-dirty, uffd-wp and
// special; then the write bit where can_change_pte_writable allows it. PG_anon_exclusive is
// never touched (§3.12 Post).
PteVal change_pte(const MmEnv& env, PteVal pte, unsigned long vm_flags) {
  constexpr PteVal kKept =
      x86::kAccessed | x86::kDirty | x86::kSoftSoftDirty | x86::kSoftUffdWp | x86::kSoftSpecial;
  PteVal entry = mk_pte(x86::pte_pfn(pte), vm_flags) | (pte & kKept);
  if (x86::pte_present(entry) && (vm_flags & VM_WRITE) && can_change_pte_writable(env, pte))
    entry |= x86::kRw;
  return entry;
}

// change_protection over [start, end) of one area with its new flags. R5: the range is flushed
// before mprotect returns, so a store after the return cannot use an old writable translation
// (race T14); the flush covers PTEs changed either way, as Linux's does.
void change_protection(MmEnv& env, MmStruct& mm, VirtAddr start, VirtAddr end,
                       unsigned long vm_flags) {
  std::uint64_t pages = 0;
  env.charge(CostPhase::kPteUpdate, env.costs.ptl_cycles);
  ++mm.tlb_flush_pending;  // inc_tlb_flush_pending: the bracket R5 allows deferral within
  walk_pte_range(env, mm, start, end, [&](PhysAddr ptep, VirtAddr) {
    ptl_wait_or_throw(env, ptep);
    PteVal pte;
    {
      PhaseScope scope(env.port, CostPhase::kPteUpdate);
      pte = env.port.read_pte(ptep);
    }
    if (!pte_present(pte)) return true;  // none, or a swap entry: protection is not in it
    env.charge(CostPhase::kPteUpdate, env.costs.mprotect_pte_cycles);
    const PteVal entry = change_pte(env, pte, vm_flags);
    if (entry == pte) return true;
    ptep_modify(env, ptep, pte, entry);  // ptep_modify_prot_start/commit
    ++pages;
    return true;
  });
  if (pages && !env.inject.skip_mprotect_flush)
    flush_tlb_mm_range(env, mm, start, end, FlushRule::kMprotect);
  --mm.tlb_flush_pending;
}

// mprotect_fixup for the part [start, end) of one area.
void mprotect_fixup(MmEnv& env, MmStruct& mm, VirtAddr start, VirtAddr end,
                    unsigned long newflags) {
  if (mm.find_vma(start)->vm_flags == newflags) return;
  split_vma(env, mm, start);
  split_vma(env, mm, end);
  mm.find_vma(start)->vm_flags = newflags;
  change_protection(env, mm, start, end, newflags);
}

}  // namespace

long do_mprotect(MmEnv& env, MmStruct& mm, VirtAddr start, std::uint64_t len, unsigned prot) {
  if ((start & ~kPageMask) != 0 || (prot & ~(kProtRead | kProtWrite | kProtExec)) != 0)
    return -EINVAL;
  if (len == 0) return 0;
  if (start >= x86::kUserVaEnd || len > x86::kUserVaEnd - start) return -ENOMEM;
  len = (len + kPageSize - 1) & kPageMask;
  if (len > x86::kUserVaEnd - start) return -ENOMEM;
  const VirtAddr end = start + len;
  env.charge(CostPhase::kVmaLookup, env.costs.vma_lookup_cycles);
  long err = 0;
  for (VirtAddr nstart = start; nstart < end;) {
    const VmArea* vma = mm.find_vma(nstart);
    if (!vma) {  // a hole: the areas before it keep their new protection, as in Linux
      err = -ENOMEM;
      break;
    }
    const VirtAddr tmp = std::min(vma->vm_end, end);
    const unsigned long newflags = (vma->vm_flags & ~kVmAccessFlags) | calc_vm_prot_bits(prot);
    mprotect_fixup(env, mm, nstart, tmp, newflags);
    nstart = tmp;
  }
  vma_merge_range(env, mm, start, end);
  if (!err) env.stats.mprotects.inc();
  return err;
}

namespace {

// The flags an advice gives an area; false for an advice that is not a flag change.
bool madvise_flags(Advice advice, unsigned long flags, unsigned long* newflags) {
  switch (advice) {
    case Advice::kDontFork: *newflags = flags | VM_DONTCOPY; return true;
    case Advice::kDoFork: *newflags = flags & ~VM_DONTCOPY; return true;
    case Advice::kWipeOnFork: *newflags = flags | VM_WIPEONFORK; return true;
    case Advice::kKeepOnFork: *newflags = flags & ~VM_WIPEONFORK; return true;
    case Advice::kDontNeed: return false;
  }
  return false;
}

bool madvise_known(Advice advice) {
  switch (advice) {
    case Advice::kDontNeed:
    case Advice::kDontFork:
    case Advice::kDoFork:
    case Advice::kWipeOnFork:
    case Advice::kKeepOnFork:
      return true;
  }
  return false;
}

}  // namespace

long do_madvise(MmEnv& env, MmStruct& mm, VirtAddr start, std::uint64_t len, Advice advice) {
  if ((start & ~kPageMask) != 0 || !madvise_known(advice)) return -EINVAL;
  if (len == 0) return 0;
  const std::uint64_t aligned = (len + kPageSize - 1) & kPageMask;
  if (aligned == 0 || start + aligned < start) return -EINVAL;  // overflow
  const VirtAddr end = std::min<VirtAddr>(start + aligned, x86::kUserVaEnd);
  env.charge(CostPhase::kVmaLookup, env.costs.vma_lookup_cycles);
  bool unmapped = start + aligned > x86::kUserVaEnd;
  for (VirtAddr nstart = start; nstart < end;) {
    auto it = mm.mmap.upper_bound(nstart);
    if (it != mm.mmap.begin() && std::prev(it)->second.vm_end > nstart) --it;
    if (it == mm.mmap.end() || it->second.vm_start >= end) {
      unmapped = true;
      break;
    }
    if (it->second.vm_start > nstart) unmapped = true;  // a hole before this area
    const VirtAddr s = std::max(nstart, it->second.vm_start);
    const VirtAddr e = std::min(end, it->second.vm_end);
    unsigned long newflags = 0;
    if (madvise_flags(advice, it->second.vm_flags, &newflags)) {
      if (newflags != it->second.vm_flags) {  // madvise_update_vma
        split_vma(env, mm, s);
        split_vma(env, mm, e);
        mm.find_vma(s)->vm_flags = newflags;
      }
    } else {
      zap_page_range(env, mm, s, e);  // MADV_DONTNEED: R6 through the mmu_gather
    }
    nstart = e;
  }
  if (advice != Advice::kDontNeed) vma_merge_range(env, mm, start, end);
  if (unmapped) return -ENOMEM;
  env.stats.madvises.inc();
  return 0;
}

}  // namespace mmusim::mm
