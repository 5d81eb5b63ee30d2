// Statistics of the memory manager (group "mm").
#pragma once

#include <array>
#include <memory>

#include "mmusim/mm/kernel.h"
#include "mmusim/stats/stats.h"

namespace mmusim::mm {

struct MmStats {
  explicit MmStats(stats::Group& parent);

  stats::Group group;
  stats::Group faults_group;
  stats::Group tlb_group;
  std::array<std::unique_ptr<stats::Scalar>, kFaultKindCount> faults;
  stats::Formula faults_total;
  stats::Scalar copies;
  stats::Scalar zero_fills;
  stats::Scalar pages_allocated;
  stats::Scalar pages_freed;
  stats::Scalar pgtables_allocated;
  stats::Scalar pgtables_freed;
  stats::Scalar forks;
  stats::Scalar exits;
  stats::Scalar kills;
  stats::Scalar tlb_flush_pages;
  stats::Scalar tlb_flush_full;

  void count_fault(FaultKind kind) { faults[static_cast<std::size_t>(kind)]->inc(); }
};

}  // namespace mmusim::mm
