#include "invariants.h"

#include <map>
#include <sstream>

namespace mmusim::mm {
namespace {

using x86::PteVal;

struct Mapping {
  Pid pid;
  VirtAddr va;
  PteVal pte;
};

class Checker {
 public:
  Checker(const ArchPort& port, const PageAllocator& pages, Pfn zero_pfn)
      : port_(port), pages_(pages), zero_pfn_(zero_pfn) {}

  void check_mm(const MmRef& ref) {
    rss_seen_ = 0;
    walk(ref.pid, pfn_to_phys(ref.mm->pgd), x86::kLevels, 0);
    if (rss_seen_ != ref.mm->rss_anon)
      report("RSS", ref.pid, 0, 0,
             "MM_ANONPAGES is " + std::to_string(ref.mm->rss_anon) + " but " +
                 std::to_string(rss_seen_) + " anonymous pages are mapped");
  }

  // Checks made once every mm was walked: per-page counts against the entries found.
  void check_pages() {
    for (const auto& [pfn, maps] : mappings_) {
      const Page& page = pages_.page(pfn);
      const Mapping& first = maps.front();
      if (page.test(PG_anon_exclusive) && maps.size() > 1)  // I6
        report("I6", first.pid, first.va, pfn,
               "exclusive page mapped by " + std::to_string(maps.size()) + " entries");
      if (page.mapcount != maps.size())
        report("MAPCOUNT", first.pid, first.va, pfn,
               "mapcount " + std::to_string(page.mapcount) + " but " +
                   std::to_string(maps.size()) + " present entries map it");
    }
    for (Pfn pfn = 1; pfn < pages_.watermark(); ++pfn) {
      if (!pages_.in_use(pfn)) continue;
      const Page& page = pages_.page(pfn);
      if (page.refcount < page.mapcount)  // I13
        report("I13", -1, 0, pfn,
               "refcount " + std::to_string(page.refcount) + " < mapcount " +
                   std::to_string(page.mapcount));
      if (page.test(PG_anon) && mappings_.count(pfn) == 0)
        report(page.mapcount ? "MAPCOUNT" : "LEAK", -1, 0, pfn,
               "anonymous page with refcount " + std::to_string(page.refcount) +
                   " and mapcount " + std::to_string(page.mapcount) + " is mapped nowhere");
    }
  }

  std::vector<InvariantViolation> take() { return std::move(violations_); }

 private:
  void walk(Pid pid, PhysAddr table, unsigned level, VirtAddr base) {
    // The user half only: PML4 entries 0..255.
    const unsigned limit = level == x86::kLevels ? x86::kEntriesPerTable / 2 : x86::kEntriesPerTable;
    for (unsigned i = 0; i < limit; ++i) {
      const VirtAddr va = base + (VirtAddr{i} << x86::level_shift(level));
      const PteVal e = port_.peek_pte(table + PhysAddr{i} * x86::kPteBytes);
      if (!x86::pte_present(e)) continue;
      const Pfn pfn = x86::pte_pfn(e);
      if (level > 1) {
        if (!pages_.in_use(pfn) || !pages_.page(pfn).test(PG_pgtable))
          report("PGTABLE", pid, va, pfn, "upper-level entry does not point to a page table");
        else
          walk(pid, pfn_to_phys(pfn), level - 1, va);
        continue;
      }
      check_leaf(pid, va, e);
    }
  }

  void check_leaf(Pid pid, VirtAddr va, PteVal e) {
    const Pfn pfn = x86::pte_pfn(e);
    if (pfn == zero_pfn_) {
      if (x86::pte_write(e)) report("ZERO", pid, va, pfn, "the zero page is mapped writable");
      if (!x86::pte_special(e)) report("ZERO", pid, va, pfn, "zero-page entry is not special");
      return;
    }
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
    std::ostringstream detail;
    detail << invariant << ": pid " << pid << " va 0x" << std::hex << va << " pfn 0x" << pfn
           << std::dec << ": " << what;
    violations_.push_back({invariant, detail.str(), pid, va, pfn});
  }

  const ArchPort& port_;
  const PageAllocator& pages_;
  Pfn zero_pfn_;
  std::uint64_t rss_seen_ = 0;
  std::map<Pfn, std::vector<Mapping>> mappings_;
  std::vector<InvariantViolation> violations_;
};

}  // namespace

std::vector<InvariantViolation> check_mm_invariants(const ArchPort& port,
                                                    const PageAllocator& pages, Pfn zero_pfn,
                                                    const std::vector<MmRef>& mms) {
  Checker checker(port, pages, zero_pfn);
  for (const MmRef& ref : mms) checker.check_mm(ref);
  checker.check_pages();
  return checker.take();
}

}  // namespace mmusim::mm
