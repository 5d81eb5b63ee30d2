// What every mm routine needs for one operation: the machine, the costs, the allocator, the
// statistics, and the CPU the operation runs on (initiator of its TLB flushes).
#pragma once

#include "mmusim/mm/arch_port.h"
#include "mmusim/mm/cost_profile.h"
#include "mmusim/mm/kernel.h"
#include "mm_stats.h"
#include "page.h"

namespace mmusim::mm {

struct MmEnv {
  ArchPort& port;
  const CostProfile& costs;
  const TestSwitches& test;
  PageAllocator& pages;
  MmStats& stats;
  Pfn zero_pfn;  // the shared zero page (ZERO_PAGE)
  CpuId cpu;

  // Charges a software step to `phase`.
  void charge(CostPhase phase, Cycles cycles) {
    PhaseScope scope(port, phase);
    port.charge(cycles);
  }
};

}  // namespace mmusim::mm
