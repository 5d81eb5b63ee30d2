// What every mm routine needs for one operation: the machine, the configuration, the shared kernel
// state, the statistics, and the CPU the operation runs on (initiator of its TLB flushes).
#pragma once

#include "mm_globals.h"
#include "mm_stats.h"
#include "mmusim/mm/arch_port.h"
#include "mmusim/mm/cost_profile.h"
#include "mmusim/mm/kernel.h"
#include "page.h"

namespace mmusim::mm {

struct MmEnv {
  MmEnv(ArchPort& p, const KernelConfig& c, MmGlobals& globals, MmStats& s, CpuId on)
      : port(p), config(c), costs(c.costs), inject(c.inject), g(globals), pages(globals.pages),
        stats(s), zero_pfn(globals.zero_pfn), cpu(on) {}

  ArchPort& port;
  const KernelConfig& config;
  const CostProfile& costs;
  const Injections& inject;
  MmGlobals& g;
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
