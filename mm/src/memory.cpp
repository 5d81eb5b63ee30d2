// Fault dispatch (§3.2), do_anonymous_page (§3.1), do_wp_page (§3.3), wp_page_copy (§3.4).
//
// Every handler runs with mmap_lock held for read (the model runs one OS operation at a time).
// "Take the PTL" is a charged step; entries are rechecked under it (B1).
#include "memory.h"

#include <stdexcept>

#include "pgtable.h"
#include "tlb.h"

namespace mmusim::mm {
namespace {

using x86::PteVal;

// struct vm_fault: one fault being handled.
struct VmFault {
  MmStruct& mm;
  VmArea& vma;
  VirtAddr address;  // page aligned
  unsigned flags;
  PhysAddr ptep = 0;    // the PTE slot
  PteVal orig_pte = 0;  // snapshot taken before the PTL (B1)

  bool write() const { return (flags & FAULT_FLAG_WRITE) != 0; }
};

// NX unless the VMA may execute.
PteVal vma_nx(const VmArea& vma) { return (vma.vm_flags & VM_EXEC) ? 0 : x86::kNx; }

// mk_pte + pte_mkyoung + pte_mkdirty + maybe_mkwrite: the entry of a page just made writable.
PteVal mk_anon_write_pte(Pfn pfn, const VmArea& vma) {
  PteVal flags = x86::kPresent | x86::kUser | x86::kAccessed | x86::kDirty | vma_nx(vma);
  if (vma.vm_flags & VM_WRITE) flags |= x86::kRw;
  return x86::pfn_pte(pfn, flags);
}

PteVal read_pte(MmEnv& env, PhysAddr ptep) {
  PhaseScope scope(env.port, CostPhase::kPteUpdate);
  return env.port.read_pte(ptep);
}

void set_pte(MmEnv& env, PhysAddr ptep, PteVal value) {
  PhaseScope scope(env.port, CostPhase::kPteUpdate);
  env.port.write_pte(ptep, value);
}

// B1: take the PTL and check that the entry is still the snapshot the decision was made on.
bool pte_same_locked(MmEnv& env, const VmFault& vmf) {
  env.charge(CostPhase::kPteUpdate, env.costs.ptl_cycles);
  return read_pte(env, vmf.ptep) == vmf.orig_pte;
}

// ptep_clear_flush: the entry becomes none and every CPU of mm_cpumask has dropped its
// translation before this returns (R1, first half of break-before-make).
void ptep_clear_flush(MmEnv& env, VmFault& vmf) {
  {
    PhaseScope scope(env.port, CostPhase::kPteUpdate);
    env.port.xchg_pte(vmf.ptep, 0);
  }
  flush_tlb_page(env, vmf.mm, vmf.address);
}

// access_error: may this VMA be accessed this way at all?
bool access_error(const VmArea& vma, unsigned flags) {
  if (flags & FAULT_FLAG_WRITE) return !(vma.vm_flags & VM_WRITE);
  if (flags & FAULT_FLAG_INSTRUCTION) return !(vma.vm_flags & VM_EXEC);
  // A read: PROT_NONE areas refuse it (x86 cannot express write-only, so WRITE implies READ).
  return !(vma.vm_flags & (VM_READ | VM_WRITE | VM_EXEC));
}

// §3.1 do_anonymous_page. Pre: entry none. Post: read -> zero page R/O special (no anon_vma, no
// struct-page accounting); write -> new zeroed exclusive page, refcount 1, mapcount 1, writable.
// No flush: none -> present needs none.
FaultKind do_anonymous_page(MmEnv& env, VmFault& vmf) {
  if (!vmf.write()) {
    const PteVal entry = x86::pfn_pte(env.zero_pfn, x86::kPresent | x86::kUser | x86::kAccessed |
                                                        x86::kSoftSpecial | vma_nx(vmf.vma));
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
  ++vmf.mm.rss_anon;
  page_add_new_anon_rmap(env, *page);  // EXCL := 1 (I8a)
  set_pte(env, vmf.ptep, mk_anon_write_pte(*page, vmf.vma));
  return FaultKind::kMissing;
}

// wp_page_reuse: same pfn made young, dirty and writable (R7: an upgrade, no remote flush; other
// CPUs' stale R/O entries take a spurious fault). Pre: PTL held; the page is exclusive, except
// under TestSwitches::break_cow, which is exactly the I1 violation that switch stands for.
FaultKind wp_page_reuse(MmEnv& env, VmFault& vmf) {
  env.charge(CostPhase::kPteUpdate, env.costs.ptl_cycles);
  PteVal entry = vmf.orig_pte | x86::kAccessed | x86::kDirty;
  if (vmf.vma.vm_flags & VM_WRITE) entry |= x86::kRw;
  set_pte(env, vmf.ptep, entry);  // ptep_set_access_flags
  return FaultKind::kWpReuse;
}

// §3.4 wp_page_copy. Pre: `old` is the anonymous page mapped by orig_pte with a reference taken
// by do_wp_page, or nullopt for the zero page. Post: a new exclusive page, writable and dirty,
// replaced the old one with break-before-make; the old page's mapcount and references were
// dropped after the flush.
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
  if (!old) ++vmf.mm.rss_anon;  // the zero page was not counted
  // R1: clear and complete the shootdown before the new pfn becomes visible, so no CPU can hold
  // translations to the old and the new page at the same time.
  ptep_clear_flush(env, vmf);
  page_add_new_anon_rmap(env, *page);
  set_pte(env, vmf.ptep, mk_anon_write_pte(*page, vmf.vma));
  if (old) {
    // R2: only now, after the flush, may another sharer see the lower counts and reuse the old
    // page; earlier, a stale translation here could still read what it writes (race T2).
    page_remove_rmap(env, *old);
    put_page(env, *old);  // the reference of the mapping just removed
    put_page(env, *old);  // do_wp_page's temporary reference
    return FaultKind::kWpCopy;
  }
  return FaultKind::kWpZero;
}

// May a write fault keep this anonymous page (wp_can_reuse_anon_folio, I14)?
bool wp_can_reuse_anon_page(MmEnv& env, Pfn pfn) {
  const Page& page = env.pages.page(pfn);
  // An exclusive page belongs to this mapping alone: always reuse (§0.5 item 2).
  if (page.test(PG_anon_exclusive)) return true;
  // Another reference (another mapping, a transient reference) means it may be shared: copy.
  // Without a swap cache or LRU batches this filter is also the authoritative check.
  if (page.refcount != 1) return false;
  // count == 1: nobody else can reach it; it becomes exclusive again.
  page_move_anon_rmap(env, pfn);
  return true;
}

// §3.3 do_wp_page: write to a present, read-only entry. Routes to reuse or copy.
FaultKind do_wp_page(MmEnv& env, VmFault& vmf) {
  // vm_normal_page: a special entry has no struct page; the only one here is the zero page.
  if (x86::pte_special(vmf.orig_pte)) return wp_page_copy(env, vmf, std::nullopt);
  const Pfn pfn = x86::pte_pfn(vmf.orig_pte);
  if (!env.pages.page(pfn).test(PG_anon))
    throw std::logic_error("do_wp_page: present user entry maps a non-anonymous page");
  if (wp_can_reuse_anon_page(env, pfn)) return wp_page_reuse(env, vmf);
  if (env.test.break_cow) return wp_page_reuse(env, vmf);  // deliberate missed COW (I5)
  get_page(env, pfn);  // keep the old page alive while it is copied
  return wp_page_copy(env, vmf, pfn);
}

// §3.2 handle_pte_fault.
FaultKind handle_pte_fault(MmEnv& env, VmFault& vmf) {
  if (x86::pte_none(vmf.orig_pte)) return do_anonymous_page(env, vmf);
  if (!x86::pte_present(vmf.orig_pte))
    throw std::logic_error("handle_pte_fault: non-present entry (swap and migration entries arrive with issue 4)");
  if (vmf.write() && !x86::pte_write(vmf.orig_pte)) return do_wp_page(env, vmf);
  // The entry already permits the access (R7): set young/dirty if needed; nothing is flushed (on
  // x86, delivering the #PF already dropped the faulting VA's stale translation).
  PteVal entry = vmf.orig_pte | x86::kAccessed;
  if (vmf.write()) entry |= x86::kDirty;
  if (entry != vmf.orig_pte && pte_same_locked(env, vmf)) set_pte(env, vmf.ptep, entry);
  return FaultKind::kSpurious;
}

// §3.2 handle_mm_fault: reach (or build) the PTE table, snapshot the entry, dispatch.
FaultKind handle_mm_fault(MmEnv& env, MmStruct& mm, VmArea& vma, VirtAddr address,
                          unsigned flags) {
  const std::optional<PhysAddr> table = pte_table_alloc(env, mm, address);
  if (!table) return FaultKind::kOom;
  VmFault vmf{mm, vma, address, flags};
  vmf.ptep = pte_offset(*table, address);
  vmf.orig_pte = read_pte(env, vmf.ptep);
  return handle_pte_fault(env, vmf);
}

}  // namespace

unsigned fault_flags_from_error_code(std::uint32_t error_code) {
  unsigned flags = 0;
  if (error_code & x86::kPfWrite) flags |= FAULT_FLAG_WRITE;
  if (error_code & x86::kPfInstr) flags |= FAULT_FLAG_INSTRUCTION;
  return flags;
}

FaultKind do_user_addr_fault(MmEnv& env, MmStruct& mm, VirtAddr address, unsigned flags) {
  address = page_align_down(address);
  VmArea* vma;
  {
    env.charge(CostPhase::kVmaLookup, env.costs.vma_lookup_cycles);
    vma = address < x86::kUserVaEnd ? mm.find_vma(address) : nullptr;
    if (!vma || access_error(*vma, flags)) return FaultKind::kSigsegv;
  }
  return handle_mm_fault(env, mm, *vma, address, flags);
}

}  // namespace mmusim::mm
