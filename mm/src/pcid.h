// PCID assignment: one PCID per live mm, in 1..4095 (0 is swapper_pg_dir's).
#pragma once

#include <array>
#include <optional>

#include "mmusim/mm/arch_port.h"

namespace mmusim::mm {

class PcidAllocator {
 public:
  static constexpr Pcid kFirst = 1;
  static constexpr Pcid kLast = kPcidMask;  // 4095

  // A PCID no live mm uses, round-robin from the last one handed out (so a released PCID is
  // reused as late as possible). `stale` receives the CPUs that may still cache translations
  // tagged with it from an earlier mm; the caller flushes them before the PCID is used.
  std::optional<Pcid> alloc(CpuMask& stale);
  // The mm using `pcid` is gone; `ran_on` is its mm_cpumask.
  void release(Pcid pcid, CpuMask ran_on);

 private:
  std::array<bool, kLast + 1> in_use_{};
  std::array<CpuMask, kLast + 1> stale_{};
  Pcid cursor_ = kLast;  // the next search starts after it
};

}  // namespace mmusim::mm
