// Fault dispatch (§3.2), do_anonymous_page (§3.1), do_wp_page (§3.3) with FAULT_FLAG_UNSHARE
// (§3.5), wp_page_copy (§3.4). do_swap_page (§3.14) is in swap_memory.cpp.
//
// Every handler runs with mmap_lock held for read (the model runs one OS operation at a time).
// "Take the PTL" is a charged step; entries are rechecked under it (B1).
#include "memory.h"
#include "numa.h"

#include <stdexcept>

#include "debug_vm.h"
#include "locks.h"
#include "pgtable.h"
#include "swap.h"
#include "tlb.h"

namespace mmusim::mm {
namespace {

// access_error: may this VMA be accessed this way at all?
bool access_error(const VmArea& vma, unsigned flags) {
  if (flags & FAULT_FLAG_WRITE) return !(vma.vm_flags & VM_WRITE);
  if (flags & FAULT_FLAG_INSTRUCTION) return !(vma.vm_flags & VM_EXEC);
  // A read: PROT_NONE areas refuse it (x86 cannot express write-only, so WRITE implies READ).
  return !(vma.vm_flags & (VM_READ | VM_WRITE | VM_EXEC));
}

// mk_pte + pte_mkdirty + maybe_mkwrite: the entry of a page just made writable by a write fault.
PteVal mk_anon_write_pte(Pfn pfn, const VmArea& vma) {
  return maybe_mkwrite(pte_mkdirty(mk_pte(pfn, vma.vm_flags)), vma.vm_flags);
}

// §3.1 do_anonymous_page. Pre: entry none. Post: read (or unshare, which counts as a read) ->
// zero page R/O special (no anon_vma, no struct-page accounting); write -> new zeroed exclusive
// page, refcount 1, mapcount 1, writable and dirty if VM_WRITE (a FOLL_FORCE write into a
// read-only area gets it R/O and clean). No flush: none -> present needs none.
FaultKind do_anonymous_page(MmEnv& env, VmFault& vmf) {
  if (!vmf.write()) {
    const PteVal entry = mk_pte(env.zero_pfn, vmf.vma.vm_flags) | x86::kSoftSpecial;
    if (!pte_same_locked(env, vmf)) return FaultKind::kSpurious;
    set_pte(env, vmf.ptep, entry);
    return FaultKind::kZeroPage;
  }
  vmf.vma.anon_vma = true;  // anon_vma_prepare
  const std::optional<Pfn> page = alloc_zeroed_user_page(env);
  if (!page) return FaultKind::kOom;
  if (!pte_same_locked(env, vmf)) {
    put_page(env, *page);
    return FaultKind::kSpurious;
  }
  PteVal entry = mk_pte(*page, vmf.vma.vm_flags);
  if (vmf.vma.vm_flags & VM_WRITE) entry = pte_mkdirty(entry) | x86::kRw;
  ++vmf.mm.rss_anon;
  page_add_new_anon_rmap(env, *page, vmf.mm, vmf.address);  // EXCL := 1 (I8a)
  set_pte(env, vmf.ptep, entry);
  return FaultKind::kMissing;
}

// wp_page_reuse: same pfn made young, dirty and writable (R7: an upgrade, no remote flush; other
// CPUs' stale R/O entries take a spurious fault). Pre: PTL held; WRITE; the page is exclusive,
// except under the break_cow injection, which is exactly the I1 violation it stands for. A stale
// uffd-wp bit goes (no VMA is uffd-wp registered in this model, so no userfault is due; I18).
FaultKind wp_page_reuse(MmEnv& env, VmFault& vmf) {
  env.charge(CostPhase::kPteUpdate, env.costs.ptl_cycles);
  PteVal entry = pte_mkdirty(vmf.orig_pte | x86::kAccessed) & ~x86::kSoftUffdWp;
  entry = maybe_mkwrite(entry, vmf.vma.vm_flags);
  set_pte(env, vmf.ptep, entry);  // ptep_set_access_flags
  return FaultKind::kWpReuse;
}

// ptep_clear_flush: the entry becomes none and every CPU of mm_cpumask has dropped its
// translation before this returns (R1, first half of break-before-make).
void ptep_clear_flush(MmEnv& env, VmFault& vmf) {
  ptep_get_and_clear(env, vmf.ptep, vmf.orig_pte);
  flush_tlb_page(env, vmf.mm, vmf.address, FlushRule::kCow);
}

// The old page's mapping goes: mapcount, then the mapping's and do_wp_page's references; an
// unmapped swap-cache copy is dropped with it (free_swap_cache).
void wp_page_release_old(MmEnv& env, Pfn old) {
  page_remove_rmap(env, old);
  put_page(env, old);  // the reference of the mapping just removed
  free_swap_cache(env, old);
  put_page(env, old);  // do_wp_page's temporary reference
}

// The entry of the new page: WRITE -> dirty, writable if VM_WRITE; UNSHARE -> R/O and clean,
// with the old entry's soft-dirty and uffd-wp bits (I17, I18, §6.3 D3).
PteVal wp_page_copy_entry(const VmFault& vmf, Pfn page) {
  if (!vmf.unshare()) return mk_anon_write_pte(page, vmf.vma);
  return mk_pte(page, vmf.vma.vm_flags) |
         (vmf.orig_pte & (x86::kSoftSoftDirty | x86::kSoftUffdWp));
}

// §3.4 wp_page_copy. Pre: `old` is the anonymous page mapped by orig_pte with a reference taken
// by do_wp_page, or nullopt for the zero page. Post: a new exclusive page replaced the old one
// with break-before-make (R1); the old page's mapcount and references were dropped after the
// flush (R2). The new entry is writable only for WRITE (I17).
FaultKind wp_page_copy(MmEnv& env, VmFault& vmf, std::optional<Pfn> old) {
  std::optional<Pfn> page;
  if (old) {
    page = alloc_page(env);
    if (page) {
      PhaseScope scope(env.port, CostPhase::kZeroCopy);
      env.port.copy_frame(*page, *old);
      env.stats.copies.inc();
    }
  } else {
    page = alloc_zeroed_user_page(env);  // WP-zero: no data to copy
  }
  if (!page || !pte_same_locked(env, vmf)) {
    if (page) put_page(env, *page);
    if (old) put_page(env, *old);
    return page ? FaultKind::kSpurious : FaultKind::kOom;
  }
  // The PTL stays held across the shootdown below: other CPUs' faults on this entry wait (and
  // then see the new entry), as Linux's ptep_clear_flush under the PTL makes them.
  PtlHold ptl(env, vmf.ptep);
  if (!old) ++vmf.mm.rss_anon;  // the zero page was not counted
  const PteVal entry = wp_page_copy_entry(vmf, *page);
  vm_bug_on(env, vmf.unshare() && x86::pte_write(entry), "wp_page_copy", "I17", vmf.mm.pid,
            vmf.address, *page, "an unshare copy must never be mapped writable");
  // early_cow_unmap: R2 broken, the old page looks unshared while stale translations remain.
  if (old && env.inject.early_cow_unmap) wp_page_release_old(env, *old);
  // R1: clear and complete the shootdown before the new pfn becomes visible, so no CPU can hold
  // translations to the old and the new page at the same time.
  if (!env.inject.skip_cow_flush) ptep_clear_flush(env, vmf);
  page_add_new_anon_rmap(env, *page, vmf.mm, vmf.address);
  set_pte(env, vmf.ptep, entry);
  // R2: only now, after the flush, may another sharer see the lower counts and reuse the old
  // page; earlier, a stale translation here could still read what it writes (race T2).
  if (old && !env.inject.early_cow_unmap) wp_page_release_old(env, *old);
  if (vmf.unshare()) return FaultKind::kUnshareCopy;
  return old ? FaultKind::kWpCopy : FaultKind::kWpZero;
}

// Can a write or unshare fault keep this possibly-shared anonymous page (I14)? Pre: PTL held,
// the page not PG_anon_exclusive. Marks it exclusive when it can.
bool wp_can_reuse_anon_page(MmEnv& env, Pfn pfn) {
  const Page& page = env.pages.page(pfn);
  // Hint, no correctness role: a count above what the swap cache explains cannot drop to 1
  // under the page lock, so copy without taking it.
  const std::uint32_t swapcache = page.test(PG_swapcache) ? 1 : 0;
  if (page.refcount > 1 + swapcache) return false;
  // trylock_page failed (reclaim holds it across a shootdown): copy, as Linux does.
  if (page.test(PG_locked)) return false;
  // Authoritative, under the page lock (seed 002): drop the swap cache's copy if no swap entry
  // needs it any more, then only this mapping may hold a reference.
  if (swapcache) try_to_free_swap(env, pfn);
  if (page.refcount != 1) return false;
  page_move_anon_rmap(env, pfn);  // EXCL := 1 (I8c)
  return true;
}

// FAULT_FLAG_UNSHARE on a page that is (now) exclusive: the entry stays R/O and clean (I17).
FaultKind wp_unshare_done(bool marked) {
  return marked ? FaultKind::kUnshareMark : FaultKind::kSpurious;  // UN-mark / UN-noop
}

// §3.2 handle_pte_fault.
FaultResult handle_pte_fault(MmEnv& env, VmFault& vmf) {
  if (x86::pte_none(vmf.orig_pte)) return {do_anonymous_page(env, vmf)};
  if (is_swap_pte(vmf.orig_pte)) return do_swap_page(env, vmf);
  // A protnone entry in an accessible area is a NUMA hint (PROT_NONE areas fail access_error).
  if (pte_protnone(vmf.orig_pte) && (vmf.vma.vm_flags & kVmAccessFlags)) return {do_numa_page(env, vmf)};
  // A PROT_NONE entry is reached only by GUP with FOLL_FORCE (user accesses fail access_error):
  // a write or unshare goes through do_wp_page like any R/O entry, keeping PAGE_NONE.
  if ((vmf.write() || vmf.unshare()) && !x86::pte_write(vmf.orig_pte))
    return {do_wp_page(env, vmf)};
  if (pte_protnone(vmf.orig_pte)) return {FaultKind::kSpurious};
  if (vmf.unshare()) return {FaultKind::kSpurious};  // writable implies exclusive (I1)
  // The entry already permits the access (R7): set young/dirty if needed; nothing is flushed (on
  // x86, delivering the #PF already dropped the faulting VA's stale translation).
  PteVal entry = vmf.orig_pte | x86::kAccessed;
  if (vmf.write()) entry = pte_mkdirty(entry);
  if (entry != vmf.orig_pte && pte_same_locked(env, vmf)) set_pte(env, vmf.ptep, entry);
  return {FaultKind::kSpurious};
}

}  // namespace

PteVal read_pte(MmEnv& env, PhysAddr ptep) {
  PhaseScope scope(env.port, CostPhase::kPteUpdate);
  return env.port.read_pte(ptep);
}

void set_pte(MmEnv& env, PhysAddr ptep, PteVal value) {
  PhaseScope scope(env.port, CostPhase::kPteUpdate);
  env.port.write_pte(ptep, value);
}

bool pte_same_locked(MmEnv& env, const VmFault& vmf) {
  env.charge(CostPhase::kPteUpdate, env.costs.ptl_cycles);
  return read_pte(env, vmf.ptep) == vmf.orig_pte;
}

// §3.3 do_wp_page: a present, read-only entry and WRITE xor UNSHARE. Routes to reuse (or, for
// UNSHARE, to UN-noop / UN-mark) or to copy.
FaultKind do_wp_page(MmEnv& env, VmFault& vmf) {
  const bool unshare = vmf.unshare();
  if (unshare == vmf.write()) throw std::logic_error("do_wp_page: needs WRITE xor UNSHARE (§3.24)");
  // vm_normal_page: a special entry has no struct page; the only one here is the zero page,
  // which is not anonymous: nothing to unshare (L4), a write copies it.
  if (x86::pte_special(vmf.orig_pte)) {
    if (unshare) return FaultKind::kSpurious;
    return wp_page_copy(env, vmf, std::nullopt);
  }
  const Pfn pfn = x86::pte_pfn(vmf.orig_pte);
  if (!env.pages.page(pfn).test(PG_anon))
    throw std::logic_error("do_wp_page: present user entry maps a non-anonymous page");
  // §0.5 item 2: an exclusive page belongs to this mapping alone and is always reused; this is
  // what keeps pinned pages in place across mprotect and other write-protections.
  if (env.pages.page(pfn).test(PG_anon_exclusive))
    return unshare ? wp_unshare_done(false) : wp_page_reuse(env, vmf);
  if (wp_can_reuse_anon_page(env, pfn))
    return unshare ? wp_unshare_done(true) : wp_page_reuse(env, vmf);
  if (env.inject.break_cow && !unshare) return wp_page_reuse(env, vmf);  // missed COW (I5)
  get_page(env, pfn);  // keep the old page alive while it is copied
  return wp_page_copy(env, vmf, pfn);
}

unsigned fault_flags_from_error_code(std::uint32_t error_code) {
  unsigned flags = 0;
  if (error_code & x86::kPfWrite) flags |= FAULT_FLAG_WRITE;
  if (error_code & x86::kPfInstr) flags |= FAULT_FLAG_INSTRUCTION;
  return flags;
}

FaultResult handle_mm_fault(MmEnv& env, MmStruct& mm, VmArea& vma, VirtAddr address,
                            unsigned flags) {
  const std::optional<PhysAddr> table = pte_table_alloc(env, mm, address);
  if (!table) return {FaultKind::kOom};
  VmFault vmf{mm, vma, address, flags};
  vmf.ptep = pte_offset(*table, address);
  // The PTL is held by an operation suspended in a shootdown: retry the access once it is gone.
  if (!ptl_wait(env, vmf.ptep)) return {FaultKind::kSpurious};
  vmf.orig_pte = read_pte(env, vmf.ptep);
  return handle_pte_fault(env, vmf);
}

FaultResult do_user_addr_fault(MmEnv& env, MmStruct& mm, VirtAddr address, unsigned flags) {
  address = page_align_down(address);
  // A writer (fork, mprotect, munmap, mmap) suspended in a shootdown holds mmap_lock: retry.
  MmapLock lock(env, mm, MmapLock::kRead);
  if (!lock.ok()) return {FaultKind::kSpurious};
  env.charge(CostPhase::kVmaLookup, env.costs.vma_lookup_cycles);
  VmArea* vma = address < x86::kUserVaEnd ? mm.find_vma(address) : nullptr;
  if (!vma || access_error(*vma, flags)) return {FaultKind::kSigsegv};
  return handle_mm_fault(env, mm, *vma, address, flags);
}

}  // namespace mmusim::mm
