// Statistics of the memory manager (group "mm").
#pragma once

#include <array>
#include <memory>

#include "mmusim/mm/kernel.h"
#include "mmusim/stats/stats.h"

namespace mmusim::mm {

// Why a TLB flush was requested: the rule of mm-semantics.md §4.2 it implements (stats only).
enum class FlushRule : std::uint8_t {
  kCow,           // R1: wp_page_copy's clear+flush (COW, WP-zero, unshare copy)
  kFork,          // R3: the parent mm at the end of fork
  kSwapOut,       // R4: try_to_unmap_one on an exclusive page, before the pin check
  kReclaimBatch,  // R9: reclaim's batched flush of non-exclusive entries
  kMprotect,      // R5: change_protection's range flush
  kZap,           // R6/R11: mmu_gather of munmap, MADV_DONTNEED and exit
  kZapNested,     // R6: a gather that ran while another one's flush was pending (whole mm)
  kClearRefs,     // R5: clear_refs soft-dirty write-protection's flush
  kPcidReuse,     // a PCID handed to a new mm while CPUs may still cache the old one's entries
};
inline constexpr std::size_t kFlushRuleCount = 9;

struct MmStats {
  explicit MmStats(stats::Group& parent);

  stats::Group group;
  stats::Group faults_group;
  stats::Group tlb_group;
  stats::Group gup_group;
  stats::Group swap_group;
  std::array<std::unique_ptr<stats::Scalar>, kFaultKindCount> faults;
  stats::Formula faults_total;
  stats::Scalar copies;
  stats::Scalar fork_eager_copies;
  stats::Scalar zero_fills;
  stats::Scalar pages_allocated;
  stats::Scalar pages_freed;
  stats::Scalar pgtables_allocated;
  stats::Scalar pgtables_freed;
  stats::Scalar forks;
  stats::Scalar exits;
  stats::Scalar kills;
  stats::Scalar munmaps;
  stats::Scalar mprotects;
  stats::Scalar madvises;
  stats::Scalar zapped_pages;
  stats::Scalar tlb_flush_pages;
  stats::Scalar tlb_flush_full;
  std::array<std::unique_ptr<stats::Scalar>, kFlushRuleCount> tlb_requests;
  stats::Scalar gup_pins;
  stats::Scalar gup_gets;
  stats::Scalar gup_unpins;
  stats::Scalar gup_fast_success;
  stats::Scalar gup_fast_fallback;
  stats::Scalar gup_faults;
  stats::Scalar swap_outs;
  stats::Scalar swap_out_refused;
  stats::Scalar swap_ins;
  stats::Scalar swap_reads;
  stats::Scalar swap_writebacks;
  stats::Scalar swap_cache_frees;

  void count_fault(FaultKind kind) { faults[static_cast<std::size_t>(kind)]->inc(); }
  void count_flush(FlushRule rule) { tlb_requests[static_cast<std::size_t>(rule)]->inc(); }
};

}  // namespace mmusim::mm
