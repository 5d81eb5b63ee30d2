#include "mm_stats.h"

#include <string>

namespace mmusim::mm {
namespace {

static_assert(static_cast<std::size_t>(FaultKind::kNumaHint) + 1 == kFaultKindCount,
              "kFaultKindCount must count every FaultKind");
static_assert(static_cast<std::size_t>(FlushRule::kPcidReuse) + 1 == kFlushRuleCount,
              "kFlushRuleCount must count every FlushRule");

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
             "page_count == 1 after dropping the swap cache) resolved by making the entry "
             "writable (wp_page_reuse).";
    case FaultKind::kWpCopy:
      return "Write faults on a possibly-shared anonymous page resolved by copying it into a new "
             "exclusive page after clear+flush (wp_page_copy, WP-copy).";
    case FaultKind::kSpurious:
      return "Faults with nothing to do: the entry already permitted the access (R7), changed "
             "under the handler (B1), or an unshare found the page exclusive or not anonymous "
             "(UN-noop).";
    case FaultKind::kSigsegv:
      return "Faults with no VMA at the address or a VMA forbidding the access; the task was "
             "killed with SIGSEGV.";
    case FaultKind::kOom:
      return "Faults whose page or page-table allocation failed; the task was OOM-killed (GUP "
             "faults return -ENOMEM instead).";
    case FaultKind::kUnshareMark:
      return "GUP unshare faults (FAULT_FLAG_UNSHARE) that proved a read-only anonymous page "
             "exclusive (count == 1) and marked it PG_anon_exclusive, entry untouched (UN-mark).";
    case FaultKind::kUnshareCopy:
      return "GUP unshare faults that copied a possibly-shared page into a new exclusive page "
             "mapped read-only, clean, soft-dirty/uffd-wp kept (UN-copy, wp_page_copy).";
    case FaultKind::kSwapIn:
      return "Faults on a swap entry resolved by do_swap_page (from the swap cache or the "
             "device); a write that cannot prove exclusivity continues into do_wp_page in the "
             "same fault (SWAPIN).";
    case FaultKind::kNumaHint:
      return "NUMA hint faults: a protnone entry left by a NUMA scan (change_prot_numa) in an "
             "accessible area, restored read-only by do_numa_page (one node: no migration).";
  }
  return "";
}

const char* flush_rule_name(FlushRule rule) {
  switch (rule) {
    case FlushRule::kCow: return "requests_cow_r1";
    case FlushRule::kFork: return "requests_fork_r3";
    case FlushRule::kSwapOut: return "requests_swapout_r4";
    case FlushRule::kReclaimBatch: return "requests_reclaim_batch_r9";
    case FlushRule::kMprotect: return "requests_mprotect_r5";
    case FlushRule::kZap: return "requests_zap_r6";
    case FlushRule::kZapNested: return "requests_zap_nested_r6";
    case FlushRule::kClearRefs: return "requests_clear_refs_r5";
    case FlushRule::kPcidReuse: return "requests_pcid_reuse";
  }
  return "unknown";
}

const char* flush_rule_description(FlushRule rule) {
  switch (rule) {
    case FlushRule::kCow:
      return "Flush requests of wp_page_copy's clear+flush before a new page is installed "
             "(break-before-make, R1): COW, WP-zero and unshare copies.";
    case FlushRule::kFork:
      return "Whole-mm flush requests of the parent at the end of fork (R3).";
    case FlushRule::kSwapOut:
      return "Synchronous flush requests of try_to_unmap_one for exclusive pages, before the "
             "pin check (R4).";
    case FlushRule::kReclaimBatch:
      return "Batched flush requests of reclaim for non-exclusive entries, completed before "
             "writeback and freeing (R9).";
    case FlushRule::kMprotect:
      return "Range flush requests of change_protection before mprotect returns (R5).";
    case FlushRule::kZap:
      return "mmu_gather flush requests of munmap, MADV_DONTNEED and exit, before pages and "
             "page tables are freed (R6, R11).";
    case FlushRule::kZapNested:
      return "Whole-mm flush requests forced at the end of a zap (munmap, MADV_DONTNEED, exit) "
             "because another zap of the mm had a flush pending (tlb_flush_pending > 1): this "
             "gather may have skipped entries the other one cleared, and must not return while a "
             "CPU can still translate them (R6, mm_tlb_flush_nested).";
    case FlushRule::kClearRefs:
      return "Range flush requests of clear_refs' soft-dirty clearing, before it returns (R5).";
    case FlushRule::kPcidReuse:
      return "Full flush requests of a PCID handed to a new mm while CPUs may still cache the "
             "previous owner's translations.";
  }
  return "";
}

}  // namespace

MmStats::MmStats(stats::Group& parent)
    : group("mm", &parent),
      faults_group("faults", &group),
      tlb_group("tlb", &group),
      gup_group("gup", &group),
      swap_group("swap", &group),
      faults_total(group, "faults_total", stats::Unit::kCount,
                   "Page faults handled by handle_page_fault and faultin_page (GUP), all kinds "
                   "(sum of faults.*).",
                   [this] {
                     double sum = 0;
                     for (const auto& f : faults) sum += f->value_as_double();
                     return sum;
                   }),
      copies(group, "copies", stats::Unit::kPages,
             "Page-content copies: COW (WP-copy), unshare (UN-copy) and fork's eager copies of "
             "maybe-pinned pages."),
      fork_eager_copies(group, "fork_eager_copies", stats::Unit::kPages,
                        "Pages fork copied for the child at once because page_try_dup_anon_rmap "
                        "refused a maybe-pinned exclusive page (copy_present_page; in copies)."),
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
                     "Page-table frames freed (munmap's free_pgtables, exit); included in "
                     "pages_freed."),
      forks(group, "forks", stats::Unit::kCount, "fork() calls that created a child."),
      exits(group, "exits", stats::Unit::kCount, "exit() calls (kills are counted in kills)."),
      kills(group, "kills", stats::Unit::kCount,
            "Tasks killed by a fault (SIGSEGV, SIGBUS or OOM kill); their address space was "
            "torn down."),
      munmaps(group, "munmaps", stats::Unit::kCount, "munmap() calls that succeeded."),
      mprotects(group, "mprotects", stats::Unit::kCount,
                "mprotect() calls that succeeded (0 returned)."),
      madvises(group, "madvises", stats::Unit::kCount,
               "madvise() calls that succeeded (0 returned)."),
      zapped_pages(group, "zapped_pages", stats::Unit::kPages,
                   "Present entries cleared by zap_pte_range (munmap, MADV_DONTNEED, MAP_FIXED, "
                   "exit); swap entries excluded."),
      tlb_flush_pages(tlb_group, "flush_pages", stats::Unit::kPages,
                      "Single-page invalidations requested by flush_tlb_mm_range (ranges of at "
                      "most 33 pages), summed over requests."),
      tlb_flush_full(tlb_group, "flush_full", stats::Unit::kCount,
                     "Full PCID flushes requested: ranges above 33 pages, fork's whole-mm flush "
                     "(R3), exit, reclaim batches and PCID reuse."),
      gup_pins(gup_group, "pins", stats::Unit::kCount,
               "FOLL_PIN pins taken (page_count += 1024), fast or slow path."),
      gup_gets(gup_group, "gets", stats::Unit::kCount,
               "FOLL_GET references taken (page_count += 1), fast or slow path."),
      gup_unpins(gup_group, "unpins", stats::Unit::kCount,
                 "unpin_user_page calls that released a pin or reference."),
      gup_fast_success(gup_group, "fast_success", stats::Unit::kCount,
                       "pin_user_pages_fast / gup_fast_end calls that GUP-fast completed "
                       "without the slow path."),
      gup_fast_fallback(gup_group, "fast_fallback", stats::Unit::kCount,
                        "pin_user_pages_fast / gup_fast_end calls where GUP-fast bailed out "
                        "(entry absent, special, not writable, changed, unshare needed, "
                        "write_protect_seq changed) and the slow path ran."),
      gup_faults(gup_group, "faults", stats::Unit::kCount,
                 "Faults raised by __get_user_pages through faultin_page (FAULT_FLAG_WRITE, "
                 "FAULT_FLAG_UNSHARE or a read); included in faults.*."),
      swap_outs(swap_group, "outs", stats::Unit::kPages,
                "Pages swap_out unmapped everywhere and wrote to (or found clean on) swap."),
      swap_out_refused(swap_group, "out_refused", stats::Unit::kPages,
                       "swap_out calls refused with -EBUSY because the page may be pinned "
                       "(reclaim's pre-check, or try_to_unmap_one's pin check after the flush)."),
      swap_ins(swap_group, "ins", stats::Unit::kPages,
               "Swap entries turned into present entries by do_swap_page or swapoff."),
      swap_reads(swap_group, "reads", stats::Unit::kPages,
                 "Pages read from the swap device (major faults and swapoff)."),
      swap_writebacks(swap_group, "writebacks", stats::Unit::kPages,
                      "Dirty pages written to the swap device by reclaim (pageout)."),
      swap_cache_frees(swap_group, "cache_frees", stats::Unit::kPages,
                       "Pages removed from the swap cache (reclaimed, or freed for reuse by "
                       "do_wp_page / do_swap_page / zap).") {
  for (std::size_t i = 0; i < kFaultKindCount; ++i) {
    const auto kind = static_cast<FaultKind>(i);
    faults[i] = std::make_unique<stats::Scalar>(faults_group, fault_kind_name(kind),
                                                stats::Unit::kCount, fault_description(kind));
  }
  for (std::size_t i = 0; i < kFlushRuleCount; ++i) {
    const auto rule = static_cast<FlushRule>(i);
    tlb_requests[i] = std::make_unique<stats::Scalar>(
        tlb_group, flush_rule_name(rule), stats::Unit::kCount, flush_rule_description(rule));
  }
}

}  // namespace mmusim::mm
