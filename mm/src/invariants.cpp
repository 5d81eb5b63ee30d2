// Invariant checks (mm-semantics.md §2), after every Kernel entry point when
// KernelConfig::check_invariants is set.
//
// Checked here, over the state at rest:
//   I1   a present writable entry maps a PG_anon_exclusive page
//   I3   a page with an outstanding FOLL_PIN is PG_anon_exclusive (with the pin-time checks of
//        follow_page_pte / gup_fast_end this also covers I2)
//   I4   a FOLL_PIN on an anonymous page whose address the user has not unmapped (munmap,
//        MADV_DONTNEED, MAP_FIXED, exit) is still mapped at that address (no wrong COW)
//   I6   an exclusive page is mapped by at most one entry and referenced by no swap entry
//   I8   only anonymous pages carry PG_anon_exclusive (the rest of I8 is enforced by the rmap
//        primitives being the only writers of the bit)
//   I9/I10 a swap entry's swap-cache page is not exclusive (exclusivity is not in the page while
//        a swap entry refers to it)
//   I13  refcount >= mapcount
//   I15  a page with an outstanding FOLL_PIN looks pinned (refcount >= 1024)
//   I16  an mm with an outstanding FOLL_PIN has MMF_HAS_PINNED
//   I18  an entry with uffd-wp is not writable
//   I21  write_protect_seq is even outside fork
// and the model's bookkeeping: MAPCOUNT (mapcount == present entries), REFCOUNT (refcount ==
// mapcount + swap cache + GUP references: no leak, no missing reference), RSS (MM_ANONPAGES),
// SWAPENTS (MM_SWAPENTS), SWAPMAP (swap_map counts == swap entries, SWAP_HAS_CACHE == a
// swap-cache page), ZERO (the zero page is only mapped special and R/O), PGTABLE (upper levels
// point to page tables), FLUSHPENDING (tlb_flush_pending is 0 at rest), BADPTE (a non-present entry that is neither PROT_NONE nor a swap entry
// of a slot in use), PIN (a pin holds an allocated frame).
//
// Not checked, and why:
//   I5   no missed COW is about contents: the testbench's shadow-memory oracle checks it
//   I7, I26  flag location in THP / hugetlb folios: only base pages here
//   I11  migration entries: no migration here
//   I12, I14, I17  properties of the steps of an operation, not of a state: enforced where they
//        happen (the R4 flush before page_try_share_anon_rmap, page_move_anon_rmap's count == 1
//        assertion, wp_page_copy's I17 assertion)
//   I19  file uffd-wp markers: no files here
//   I20  TLB and paging-structure-cache contents belong to the machine: testbench/ checks them
//   I22  there is no follow_page() entry point that could be asked for a pin
//   I23  device-private pages, I24 KSM, I25 PTE-table COW: not modelled
#include "invariants.h"

#include <map>

#include "debug_vm.h"
#include "pte.h"

namespace mmusim::mm {
namespace {

struct Mapping {
  Pid pid;
  VirtAddr va;
  PteVal pte;
};

class Checker {
 public:
  Checker(const ArchPort& port, const MmGlobals& g) : port_(port), g_(g), pages_(g.pages) {}

  void check_mm(const MmStruct& mm) {
    rss_seen_ = 0;
    swap_seen_ = 0;
    walk(mm.pid, pfn_to_phys(mm.pgd), x86::kLevels, 0);
    if (rss_seen_ != mm.rss_anon)
      report("RSS", mm.pid, 0, 0,
             "MM_ANONPAGES is " + std::to_string(mm.rss_anon) + " but " +
                 std::to_string(rss_seen_) + " anonymous pages are mapped");
    if (swap_seen_ != mm.rss_swap)
      report("SWAPENTS", mm.pid, 0, 0,
             "MM_SWAPENTS is " + std::to_string(mm.rss_swap) + " but " +
                 std::to_string(swap_seen_) + " swap entries exist");
    if (mm.write_protect_seq & 1)
      report("I21", mm.pid, 0, 0, "write_protect_seq is odd outside fork");
    if (mm.tlb_flush_pending != 0)
      report("FLUSHPENDING", mm.pid, 0, 0,
             "tlb_flush_pending is " + std::to_string(mm.tlb_flush_pending) +
                 " with no operation in flight (a gather or mprotect bracket never completed)");
  }

  void check_pins() {
    for (const auto& [id, pin] : g_.pins.pins) {
      if (!pin.holds_ref) continue;
      if (!pages_.in_use(pin.pfn)) {
        report("PIN", pin.pid, pin.va, pin.pfn, "pin " + std::to_string(id) + " holds a free frame");
        continue;
      }
      const Page& page = pages_.page(pin.pfn);
      pin_refs_[pin.pfn] += (pin.flags & FOLL_PIN) ? kGupPinCountingBias : 1;
      if (!(pin.flags & FOLL_PIN)) continue;
      if (!page.maybe_pinned())
        report("I15", pin.pid, pin.va, pin.pfn, "pinned page does not look pinned");
      const auto mm = live_mm(pin.mm_id);
      if (mm && !mm->has_pinned)
        report("I16", pin.pid, pin.va, pin.pfn, "mm with a pin lacks MMF_HAS_PINNED");
      if (!page.test(PG_anon)) continue;
      if (!page.test(PG_anon_exclusive))
        report("I3", pin.pid, pin.va, pin.pfn, "pinned anonymous page is not exclusive");
      if (mm && !pin.detached) check_pin_mapped(*mm, pin);
    }
  }

  // Checks made once every mm was walked: per-page counts against the entries found.
  void check_pages() {
    for (Pfn pfn = 1; pfn < pages_.watermark(); ++pfn) {
      if (!pages_.in_use(pfn)) continue;
      const Page& page = pages_.page(pfn);
      const auto maps = mappings_.find(pfn);
      const std::size_t nr_maps = maps == mappings_.end() ? 0 : maps->second.size();
      const Pid pid = nr_maps ? maps->second.front().pid : -1;
      const VirtAddr va = nr_maps ? maps->second.front().va : 0;
      if (page.test(PG_anon_exclusive)) check_exclusive(page, pfn, nr_maps, pid, va);
      if (page.refcount < page.mapcount)  // I13
        report("I13", pid, va, pfn,
               "refcount " + std::to_string(page.refcount) + " < mapcount " +
                   std::to_string(page.mapcount));
      if (!page.test(PG_anon) || pfn == g_.zero_pfn) continue;
      if (page.mapcount != nr_maps)
        report("MAPCOUNT", pid, va, pfn,
               "mapcount " + std::to_string(page.mapcount) + " but " + std::to_string(nr_maps) +
                   " present entries map it");
      const std::uint64_t expected = page.mapcount + (page.test(PG_swapcache) ? 1 : 0) +
                                     (pin_refs_.count(pfn) ? pin_refs_.at(pfn) : 0);
      if (page.refcount != expected)
        report("REFCOUNT", pid, va, pfn,
               "refcount " + std::to_string(page.refcount) + " but mappings, swap cache and GUP "
               "references account for " + std::to_string(expected));
      if (page.test(PG_swapcache) && (!g_.swap.in_use(page.swap_slot) ||
                                      g_.swap.cache_page(page.swap_slot) != pfn))
        report("SWAPMAP", pid, va, pfn, "swap-cache page not registered in its slot");
    }
  }

  void check_swap_map() {
    const SwapDevice& swap = g_.swap;
    for (std::uint64_t offset = 0; offset < swap.nr_slots(); ++offset) {
      if (!swap.in_use(offset)) continue;
      const std::uint32_t seen = swap_refs_.count(offset) ? swap_refs_.at(offset) : 0;
      if (swap.count(offset) != seen)
        report("SWAPMAP", -1, 0, swap.cache_page(offset),
               "slot " + std::to_string(offset) + " count " + std::to_string(swap.count(offset)) +
                   " but " + std::to_string(seen) + " swap entries refer to it");
      if (swap.count(offset) == 0 && swap.cache_page(offset) == 0)
        report("SWAPMAP", -1, 0, 0, "slot " + std::to_string(offset) + " in use by nothing");
    }
  }

  std::vector<InvariantViolation> take() { return std::move(violations_); }

 private:
  const MmStruct* live_mm(std::uint64_t id) const {
    auto it = g_.mms.find(id);
    return it == g_.mms.end() ? nullptr : it->second;
  }

  void check_exclusive(const Page& page, Pfn pfn, std::size_t nr_maps, Pid pid, VirtAddr va) {
    if (!page.test(PG_anon)) report("I8", pid, va, pfn, "PG_anon_exclusive on a non-anon page");
    if (nr_maps > 1)  // I6
      report("I6", pid, va, pfn, "exclusive page mapped by " + std::to_string(nr_maps) + " entries");
    if (page.test(PG_swapcache) && g_.swap.in_use(page.swap_slot) &&
        g_.swap.count(page.swap_slot) != 0)
      report("I6", pid, va, pfn, "exclusive page referenced by swap entries");
  }

  void check_pin_mapped(const MmStruct& mm, const Pin& pin) {
    const auto maps = mappings_.find(pin.pfn);
    if (maps != mappings_.end())
      for (const Mapping& m : maps->second)
        if (m.pid == mm.pid && m.va == pin.va) return;
    report("I4", pin.pid, pin.va, pin.pfn,
           "pin " + std::to_string(pin.id) + " no longer matches the page mapped at its address");
  }

  void walk(Pid pid, PhysAddr table, unsigned level, VirtAddr base) {
    // The user half only: PML4 entries 0..255.
    const unsigned limit = level == x86::kLevels ? x86::kEntriesPerTable / 2 : x86::kEntriesPerTable;
    for (unsigned i = 0; i < limit; ++i) {
      const VirtAddr va = base + (VirtAddr{i} << x86::level_shift(level));
      const PteVal e = port_.peek_pte(table + PhysAddr{i} * x86::kPteBytes);
      if (x86::pte_none(e)) continue;
      if (level > 1) {
        if (!x86::pte_present(e)) {
          report("PGTABLE", pid, va, 0, "non-present upper-level entry is not none");
          continue;
        }
        const Pfn pfn = x86::pte_pfn(e);
        if (!pages_.in_use(pfn) || !pages_.page(pfn).test(PG_pgtable))
          report("PGTABLE", pid, va, pfn, "upper-level entry does not point to a page table");
        else
          walk(pid, pfn_to_phys(pfn), level - 1, va);
        continue;
      }
      if (is_swap_pte(e))
        check_swap_entry(pid, va, e);
      else
        check_leaf(pid, va, e);
    }
  }

  void check_swap_entry(Pid pid, VirtAddr va, PteVal e) {
    ++swap_seen_;
    const std::uint64_t offset = pte_swp_offset(e);
    if (pte_swp_type(e) != 0 || !g_.swap.in_use(offset)) {
      report("BADPTE", pid, va, 0, "swap entry of a slot not in use");
      return;
    }
    ++swap_refs_[offset];
    const Pfn cached = g_.swap.cache_page(offset);
    if (cached != 0 && pages_.page(cached).test(PG_anon_exclusive))  // I9, I10
      report("I10", pid, va, cached, "swap entry refers to a PG_anon_exclusive swap-cache page");
  }

  void check_leaf(Pid pid, VirtAddr va, PteVal e) {
    const Pfn pfn = x86::pte_pfn(e);
    if (pte_uffd_wp(e) && x86::pte_write(e))  // I18
      report("I18", pid, va, pfn, "entry with uffd-wp is writable");
    if (pfn == g_.zero_pfn) {
      if (x86::pte_write(e)) report("ZERO", pid, va, pfn, "the zero page is mapped writable");
      if (!x86::pte_special(e)) report("ZERO", pid, va, pfn, "zero-page entry is not special");
      return;
    }
    if (x86::pte_special(e)) report("ZERO", pid, va, pfn, "special entry of a frame with a struct page");
    if (!pages_.in_use(pfn) || !pages_.page(pfn).test(PG_anon)) {
      report("I13", pid, va, pfn, "present entry maps a free or non-anonymous frame");
      return;
    }
    ++rss_seen_;
    mappings_[pfn].push_back({pid, va, e});
    if (x86::pte_write(e) && !pages_.page(pfn).test(PG_anon_exclusive))  // I1
      report("I1", pid, va, pfn, "writable entry maps a page without PG_anon_exclusive");
  }

  void report(const char* invariant, Pid pid, VirtAddr va, Pfn pfn, const std::string& what) {
    violations_.push_back(make_violation(invariant, pid, va, pfn, what));
  }

  const ArchPort& port_;
  const MmGlobals& g_;
  const PageAllocator& pages_;
  std::uint64_t rss_seen_ = 0;
  std::uint64_t swap_seen_ = 0;
  std::map<Pfn, std::vector<Mapping>> mappings_;
  std::map<std::uint64_t, std::uint32_t> swap_refs_;
  std::map<Pfn, std::uint64_t> pin_refs_;
  std::vector<InvariantViolation> violations_;
};

}  // namespace

std::vector<InvariantViolation> check_mm_invariants(const ArchPort& port, const MmGlobals& g) {
  Checker checker(port, g);
  for (const auto& [id, mm] : g.mms) checker.check_mm(*mm);
  checker.check_swap_map();
  checker.check_pins();
  checker.check_pages();
  return checker.take();
}

}  // namespace mmusim::mm
