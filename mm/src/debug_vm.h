// Sanity checks inside operations (mm-semantics.md §3.24), the model's VM_BUG_ON: with
// KernelConfig::check_invariants a failed check throws InvariantError naming the rule.
#pragma once

#include <sstream>
#include <string>

#include "mm_env.h"

namespace mmusim::mm {

inline InvariantViolation make_violation(const char* invariant, int pid, VirtAddr va, Pfn pfn,
                                         const std::string& what) {
  std::ostringstream detail;
  detail << invariant << ": pid " << pid << " va 0x" << std::hex << va << " pfn 0x" << pfn
         << std::dec << ": " << what;
  return {invariant, detail.str(), pid, va, pfn};
}

// Throws when `failed` and the checks are on. `operation` is the kernel function that checks.
inline void vm_bug_on(const MmEnv& env, bool failed, const char* operation, const char* invariant,
                      int pid, VirtAddr va, Pfn pfn, const std::string& what) {
  if (!failed || !env.config.check_invariants) return;
  throw InvariantError(operation, {make_violation(invariant, pid, va, pfn, what)});
}

}  // namespace mmusim::mm
