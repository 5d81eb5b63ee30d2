// Printable names of the mm enums (used for statistics paths and reports).
#include "mmusim/mm/arch_port.h"
#include "mmusim/mm/kernel.h"

namespace mmusim::mm {

const char* fault_kind_name(FaultKind kind) {
  switch (kind) {
    case FaultKind::kMissing: return "missing";
    case FaultKind::kZeroPage: return "zero_page";
    case FaultKind::kWpZero: return "wp_zero";
    case FaultKind::kWpReuse: return "wp_reuse";
    case FaultKind::kWpCopy: return "wp_copy";
    case FaultKind::kSpurious: return "spurious";
    case FaultKind::kSigsegv: return "sigsegv";
    case FaultKind::kOom: return "oom";
    case FaultKind::kUnshareMark: return "unshare_mark";
    case FaultKind::kUnshareCopy: return "unshare_copy";
    case FaultKind::kSwapIn: return "swap_in";
    case FaultKind::kNumaHint: return "numa_hint";
  }
  return "unknown";
}

const char* signal_name(Signal signal) {
  switch (signal) {
    case Signal::kNone: return "none";
    case Signal::kSigsegv: return "SIGSEGV";
    case Signal::kSigbus: return "SIGBUS";
    case Signal::kOomKill: return "OOM-kill";
  }
  return "unknown";
}

std::string_view cost_phase_name(CostPhase phase) {
  switch (phase) {
    case CostPhase::kEntry: return "entry";
    case CostPhase::kVmaLookup: return "vma_lookup";
    case CostPhase::kAlloc: return "alloc";
    case CostPhase::kZeroCopy: return "zero_copy";
    case CostPhase::kPteUpdate: return "pte_update";
    case CostPhase::kFlush: return "flush";
    case CostPhase::kExit: return "exit";
  }
  return "unknown";
}

}  // namespace mmusim::mm
