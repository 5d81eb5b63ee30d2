// CONFIG_DEBUG_VM for this model: the invariants of mm-semantics.md §2 that apply to anonymous
// base pages, checked over every live address space, page, swap slot and pin with uncharged
// reads (peek_pte) only. invariants.cpp lists the invariants checked and those left out.
#pragma once

#include <vector>

#include "mm_globals.h"
#include "mm_struct.h"
#include "mmusim/mm/kernel.h"

namespace mmusim::mm {

std::vector<InvariantViolation> check_mm_invariants(const ArchPort& port, const MmGlobals& g);

}  // namespace mmusim::mm
