#include "mm_stats.h"

#include <string>

namespace mmusim::mm {
namespace {

const char* fault_description(FaultKind kind) {
  switch (kind) {
    case FaultKind::kMissing:
      return "Write faults on a none entry resolved by mapping a new zeroed exclusive anonymous "
             "page (do_anonymous_page, MISS).";
    case FaultKind::kZeroPage:
      return "Read faults on a none entry resolved by mapping the shared zero page read-only "
             "(do_anonymous_page, MISS0).";
    case FaultKind::kWpZero:
      return "Write faults on a zero-page entry resolved by a new zeroed page after "
             "clear+flush, without a data copy (wp_page_copy, WP-zero).";
    case FaultKind::kWpReuse:
      return "Write faults on a read-only anonymous page proved exclusive (PG_anon_exclusive or "
             "page_count == 1) resolved by making the entry writable (wp_page_reuse).";
    case FaultKind::kWpCopy:
      return "Write faults on a possibly-shared anonymous page resolved by copying it into a new "
             "exclusive page after clear+flush (wp_page_copy, WP-copy).";
    case FaultKind::kSpurious:
      return "Faults whose entry already permitted the access, or changed under the handler; "
             "nothing was mapped (R7, B1).";
    case FaultKind::kSigsegv:
      return "Faults with no VMA at the address or a VMA forbidding the access; the task was "
             "killed with SIGSEGV.";
    case FaultKind::kOom:
      return "Faults whose page or page-table allocation failed; the task was OOM-killed.";
  }
  return "";
}

}  // namespace

MmStats::MmStats(stats::Group& parent)
    : group("mm", &parent),
      faults_group("faults", &group),
      tlb_group("tlb", &group),
      faults_total(group, "faults_total", stats::Unit::kCount,
                   "Page faults handled by handle_page_fault, all kinds (sum of faults.*).",
                   [this] {
                     double sum = 0;
                     for (const auto& f : faults) sum += f->value_as_double();
                     return sum;
                   }),
      copies(group, "copies", stats::Unit::kPages,
             "Page-content copies made by COW (wp_page_copy from an anonymous page)."),
      zero_fills(group, "zero_fills", stats::Unit::kPages,
                 "User pages zero-filled at allocation (MISS and WP-zero); page tables excluded."),
      pages_allocated(group, "pages_allocated", stats::Unit::kPages,
                      "Frames handed out by the page allocator: anonymous pages and page tables."),
      pages_freed(group, "pages_freed", stats::Unit::kPages,
                  "Frames returned to the page allocator when their last reference was put."),
      pgtables_allocated(group, "pgtables_allocated", stats::Unit::kPages,
                         "Page-table frames allocated (roots at process creation and fork, and "
                         "lower levels on demand); included in pages_allocated."),
      pgtables_freed(group, "pgtables_freed", stats::Unit::kPages,
                     "Page-table frames freed at exit; included in pages_freed."),
      forks(group, "forks", stats::Unit::kCount, "fork() calls that created a child."),
      exits(group, "exits", stats::Unit::kCount, "exit() calls (kills are counted in kills)."),
      kills(group, "kills", stats::Unit::kCount,
            "Tasks killed by a fault (SIGSEGV or OOM kill); their address space was torn down."),
      tlb_flush_pages(tlb_group, "flush_pages", stats::Unit::kPages,
                      "Single-page invalidations requested by flush_tlb_mm_range (ranges of at "
                      "most 33 pages), summed over requests."),
      tlb_flush_full(tlb_group, "flush_full", stats::Unit::kCount,
                     "Full PCID flushes requested: ranges above 33 pages, fork's whole-mm flush "
                     "(R3), exit, and PCID reuse.") {
  for (std::size_t i = 0; i < kFaultKindCount; ++i) {
    const auto kind = static_cast<FaultKind>(i);
    faults[i] = std::make_unique<stats::Scalar>(faults_group, fault_kind_name(kind),
                                                stats::Unit::kCount, fault_description(kind));
  }
}

}  // namespace mmusim::mm
