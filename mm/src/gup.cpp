#include "gup.h"

#include <cerrno>
#include <stdexcept>

#include "debug_vm.h"
#include "locks.h"
#include "memory.h"
#include "pgtable.h"
#include "tlb.h"

namespace mmusim::mm {
namespace {

// A fault makes the entry followable in one step, an unshare in one more; operations of other
// CPUs interleaving at shootdowns can undo that a few times. A loop longer than this is a model
// bug, not a retry.
constexpr int kGupMaxAttempts = 64;

constexpr unsigned kGupKnownFlags = FOLL_WRITE | FOLL_GET | FOLL_PIN | FOLL_LONGTERM | FOLL_FORCE;

std::uint32_t grab_refs(unsigned flags) { return (flags & FOLL_PIN) ? kGupPinCountingBias : 1; }

// gup_must_unshare (§3.5): a R/O FOLL_PIN of an anonymous page that is not exclusive needs
// FAULT_FLAG_UNSHARE first; evaluated only for entries that are not writable (writable implies
// exclusive, I1). Its contract against concurrent paths: ordinary GUP holds the PTL; GUP-fast is
// ordered against fork by write_protect_seq (R13) and against swap-out by the clear + flush
// before the pin check (R4). skip_unshare answers no (the pre-series behaviour, B07).
bool gup_must_unshare(const MmEnv& env, unsigned flags, const Page& page) {
  if (env.inject.skip_unshare) return false;
  if ((flags & (FOLL_PIN | FOLL_WRITE)) != FOLL_PIN) return false;
  if (!page.test(PG_anon)) return false;  // the zero page: not unshared (L4, B16)
  return !page.test(PG_anon_exclusive);
}

// check_vma_flags: may GUP access this area this way? FOLL_FORCE (ptrace) may write a
// non-writable private area (by breaking COW) and read an unreadable one.
long check_vma_flags(const VmArea& vma, unsigned flags) {
  if (flags & FOLL_WRITE) {
    if (vma.vm_flags & VM_WRITE) return 0;
    if (!(flags & FOLL_FORCE)) return -EFAULT;
    return is_cow_mapping(vma.vm_flags) ? 0 : -EFAULT;
  }
  if (vma.vm_flags & VM_READ) return 0;
  if (!(flags & FOLL_FORCE)) return -EFAULT;
  return (vma.vm_flags & VM_MAYREAD) ? 0 : -EFAULT;
}

// can_follow_write_pte: a ladder, one reason per rung.
bool can_follow_write_pte(const MmEnv& env, PteVal pte, const VmArea& vma, unsigned flags) {
  // A writable entry can be written.
  if (x86::pte_write(pte)) return true;
  // Otherwise only FOLL_FORCE may override it...
  if (!(flags & FOLL_FORCE)) return false;
  // ...and only in a private area that may become writable...
  if (!is_cow_mapping(vma.vm_flags)) return false;
  // ...that is not writable already (those just need a write fault)...
  if (vma.vm_flags & VM_WRITE) return false;
  // ...once COW has been broken: the page is an exclusive anonymous page...
  if (x86::pte_special(pte)) return false;
  const Page& page = env.pages.page(x86::pte_pfn(pte));
  if (!page.test(PG_anon) || !page.test(PG_anon_exclusive)) return false;
  // ...and no write fault is due for other reasons.
  return !pte_uffd_wp(pte);
}

// kBusy: the PTL is held by an operation suspended in a shootdown and the port cannot wait.
enum class Follow { kPage, kNoPage, kUnshare, kBusy };

// follow_page_pte under the PTL (A.2). kPage sets *pfn.
Follow follow_page_pte(MmEnv& env, MmStruct& mm, const VmArea& vma, VirtAddr address,
                       unsigned flags, Pfn* pfn) {
  const std::optional<PhysAddr> table = pte_table_lookup(env, mm, address);
  if (!table) return Follow::kNoPage;
  if (!ptl_wait(env, pte_offset(*table, address))) return Follow::kBusy;
  env.charge(CostPhase::kPteUpdate, env.costs.ptl_cycles);
  const PteVal pte = read_pte(env, pte_offset(*table, address));
  if (!pte_present(pte)) return Follow::kNoPage;  // none or swap: fault it in
  // FOLL_NUMA: without FOLL_FORCE a PROT_NONE entry is not followed.
  if (pte_protnone(pte) && !(flags & FOLL_FORCE)) return Follow::kNoPage;
  if ((flags & FOLL_WRITE) && !can_follow_write_pte(env, pte, vma, flags)) return Follow::kNoPage;
  *pfn = x86::pte_special(pte) ? env.zero_pfn : x86::pte_pfn(pte);
  const Page& page = env.pages.page(*pfn);
  if (!x86::pte_write(pte) && gup_must_unshare(env, flags, page)) return Follow::kUnshare;
  // I2 (§3.24): a pin of an anonymous page is only ever taken on an exclusive one.
  vm_bug_on(env, (flags & FOLL_PIN) && page.test(PG_anon) && !page.test(PG_anon_exclusive),
            "follow_page_pte", "I2", mm.pid, address, *pfn,
            "FOLL_PIN on an anonymous page without PG_anon_exclusive");
  return Follow::kPage;
}

// try_grab_page: +1024 for FOLL_PIN, +1 for FOLL_GET. The shared zero page's count is left
// alone (as Linux does since v6.2): returns false for it, true when a reference was taken.
bool try_grab_page(MmEnv& env, Pfn pfn, unsigned flags) {
  if (pfn == env.zero_pfn) return false;
  env.pages.page(pfn).refcount += grab_refs(flags);  // a locked add: a full barrier (§4.4)
  return true;
}

long register_pin(MmEnv& env, const MmStruct& mm, VirtAddr address, Pfn pfn, unsigned flags,
                  bool fast, bool holds_ref) {
  Pin pin;
  pin.id = env.g.pins.next_pin++;
  pin.pid = mm.pid;
  pin.mm_id = mm.id;
  pin.va = address;
  pin.pfn = pfn;
  pin.flags = flags;
  pin.fast = fast;
  pin.holds_ref = holds_ref;
  env.g.pins.pins.emplace(pin.id, pin);
  ((flags & FOLL_PIN) ? env.stats.gup_pins : env.stats.gup_gets).inc();
  return pin.id;
}

// The lockless walk of G1: the leaf entry GUP-fast may take, or false to bail out.
bool gup_fast_walk(MmEnv& env, const MmStruct& mm, GupFastCursor& cur) {
  env.charge(CostPhase::kPteUpdate, env.costs.gup_fast_page_cycles);
  PhysAddr table = pfn_to_phys(mm.pgd);
  for (unsigned level = x86::kLevels; level > 1; --level) {
    const PteVal e = read_pte(env, x86::entry_addr(table, cur.va, level));
    if (!x86::pte_present(e)) return false;
    table = pfn_to_phys(x86::pte_pfn(e));
  }
  cur.ptep = pte_offset(table, cur.va);
  cur.pte = read_pte(env, cur.ptep);  // READ_ONCE
  // Not present (none, swap, PROT_NONE), special (zero page), or not writable for a write.
  if (!x86::pte_present(cur.pte) || x86::pte_special(cur.pte)) return false;
  return !(cur.flags & FOLL_WRITE) || x86::pte_write(cur.pte);
}

// G2-G4 (gup_pte_range after the read): grab, reread, unshare check. True with the reference
// held.
bool gup_fast_grab(MmEnv& env, const GupFastCursor& cur) {
  const Pfn pfn = x86::pte_pfn(cur.pte);
  // try_grab_folio fails on a page whose count already reached 0 (freed meanwhile).
  if (!env.pages.in_use(pfn) || env.pages.page(pfn).refcount == 0) return false;
  try_grab_page(env, pfn, cur.flags);                 // G2
  const bool same = read_pte(env, cur.ptep) == cur.pte;  // G3
  if (same && (x86::pte_write(cur.pte) ||
               !gup_must_unshare(env, cur.flags, env.pages.page(pfn))))  // G4
    return true;
  put_page_refs(env, pfn, grab_refs(cur.flags));
  return false;
}

}  // namespace

long check_gup_flags(unsigned gup_flags) {
  if (gup_flags & ~kGupKnownFlags) return -EINVAL;
  if (!(gup_flags & FOLL_GET) == !(gup_flags & FOLL_PIN)) return -EINVAL;
  if ((gup_flags & FOLL_LONGTERM) && !(gup_flags & FOLL_PIN)) return -EINVAL;
  return 0;
}

long get_user_page(MmEnv& env, MmStruct& mm, VirtAddr address, unsigned gup_flags,
                   std::vector<FaultKind>& faults) {
  address = page_align_down(address);
  if (address >= x86::kUserVaEnd) return -EFAULT;
  if (gup_flags & FOLL_PIN) mm.has_pinned = true;  // before any pin can be seen by fork (I16)
  MmapLock lock(env, mm, MmapLock::kRead);
  if (!lock.ok()) return -EAGAIN;
  for (int attempt = 0; attempt < kGupMaxAttempts; ++attempt) {
    env.charge(CostPhase::kVmaLookup, env.costs.vma_lookup_cycles);
    VmArea* vma = mm.find_vma(address);
    if (!vma) return -EFAULT;
    if (long err = check_vma_flags(*vma, gup_flags)) return err;
    env.charge(CostPhase::kPteUpdate, env.costs.gup_page_cycles);
    Pfn pfn = 0;
    unsigned fault_flags = FAULT_FLAG_REMOTE;
    switch (follow_page_pte(env, mm, *vma, address, gup_flags, &pfn)) {
      case Follow::kPage: {
        const bool holds_ref = try_grab_page(env, pfn, gup_flags);
        return register_pin(env, mm, address, pfn, gup_flags, /*fast=*/false, holds_ref);
      }
      case Follow::kNoPage:  // faultin_page: a write fault for FOLL_WRITE, else a read fault
        if (gup_flags & FOLL_WRITE) fault_flags |= FAULT_FLAG_WRITE;
        break;
      case Follow::kUnshare:  // -EMLINK: never together with FAULT_FLAG_WRITE (§3.8 step 2)
        fault_flags |= FAULT_FLAG_UNSHARE;
        break;
      case Follow::kBusy:
        return -EAGAIN;
    }
    const FaultResult result = handle_mm_fault(env, mm, *vma, address, fault_flags);
    faults.push_back(result.kind);
    env.stats.count_fault(result.kind);
    env.stats.gup_faults.inc();
    if (result.kind == FaultKind::kOom) return -ENOMEM;
    if (result.signal != Signal::kNone) return -EFAULT;  // VM_FAULT_SIGBUS
  }
  throw std::logic_error("__get_user_pages: the entry never became followable");
}

long gup_fast_begin(MmEnv& env, MmStruct& mm, bool current, VirtAddr address,
                    unsigned gup_flags) {
  GupFastCursor cur;
  cur.cpu = env.cpu;
  cur.pid = mm.pid;
  cur.mm_id = mm.id;
  cur.va = page_align_down(address);
  cur.flags = gup_flags;
  if (gup_flags & FOLL_PIN) mm.has_pinned = true;  // I16
  // Without current->mm there is nothing to walk locklessly: straight to the slow path.
  cur.bailed = !current || cur.va >= x86::kUserVaEnd;
  if (!cur.bailed && (gup_flags & FOLL_PIN)) {
    cur.seq = read_write_protect_seq(env.port, mm);  // Q1: raw_read_seqcount
    cur.bailed = (cur.seq & 1) != 0;  // fork is copying: give up at once
  }
  if (!cur.bailed) {
    // Interrupts off until gup_fast_end: shootdowns to this CPU wait (HW5), and page tables
    // freed meanwhile are kept (§4.4 (c)).
    env.port.local_irq_disable(env.cpu);
    cur.irqs_disabled = true;
    cur.bailed = !gup_fast_walk(env, mm, cur);  // G1
  }
  const long id = env.g.pins.next_cursor++;
  env.g.pins.cursors.emplace(id, cur);
  return id;
}

long gup_fast_end(MmEnv& env, long cursor, MmStruct* mm, std::vector<FaultKind>& faults) {
  auto it = env.g.pins.cursors.find(cursor);
  if (it == env.g.pins.cursors.end()) return -EINVAL;
  const GupFastCursor cur = it->second;
  env.g.pins.cursors.erase(it);
  bool pinned = !cur.bailed && mm && mm->id == cur.mm_id && gup_fast_grab(env, cur);
  if (cur.irqs_disabled) env.port.local_irq_enable(cur.cpu);
  tlb_release_deferred_tables(env);
  const Pfn pfn = x86::pte_pfn(cur.pte);
  // Q3: a fork ran meanwhile; the page may be shared by now, so the pin goes without the
  // exclusivity sanity check (unpin_user_pages_lockless, L10) and the slow path decides.
  if (pinned && (cur.flags & FOLL_PIN) && read_write_protect_seq(env.port, *mm) != cur.seq) {
    put_page_refs(env, pfn, grab_refs(cur.flags));
    pinned = false;
  }
  if (pinned) {
    const Page& page = env.pages.page(pfn);
    vm_bug_on(env, (cur.flags & FOLL_PIN) && page.test(PG_anon) && !page.test(PG_anon_exclusive),
              "gup_fast_end", "I2", cur.pid, cur.va, pfn,
              "GUP-fast pinned an anonymous page without PG_anon_exclusive");
    env.stats.gup_fast_success.inc();
    return register_pin(env, *mm, cur.va, pfn, cur.flags, /*fast=*/true, /*holds_ref=*/true);
  }
  env.stats.gup_fast_fallback.inc();
  if (!mm) return -ESRCH;
  return get_user_page(env, *mm, cur.va, cur.flags, faults);
}

long unpin_user_page(MmEnv& env, long id) {
  auto it = env.g.pins.pins.find(id);
  if (it == env.g.pins.pins.end()) return -EINVAL;
  const Pin pin = it->second;
  env.g.pins.pins.erase(it);
  env.charge(CostPhase::kPteUpdate, env.costs.unpin_page_cycles);
  bool shared = false;
  if (pin.holds_ref) {
    const Page& page = env.pages.page(pin.pfn);
    // sanity_check_pinned_pages (§3.10): zapping keeps EXCL, so only a kernel transformation
    // that broke I3 can fail this.
    shared = (pin.flags & FOLL_PIN) && page.test(PG_anon) && !page.test(PG_anon_exclusive);
    put_page_refs(env, pin.pfn, grab_refs(pin.flags));
  }
  env.stats.gup_unpins.inc();
  vm_bug_on(env, shared, "unpin_user_page", "I3", pin.pid, pin.va, pin.pfn,
            "unpinned anonymous page is not PG_anon_exclusive");
  return 0;
}

}  // namespace mmusim::mm
