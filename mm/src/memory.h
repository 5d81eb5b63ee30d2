// Page-fault handling on private anonymous memory (mm-semantics.md §3.1-§3.4).
#pragma once

#include "mm_env.h"
#include "mm_struct.h"

namespace mmusim::mm {

// Fault flags (struct vm_fault.flags) this issue needs.
enum FaultFlag : unsigned {
  FAULT_FLAG_WRITE = 1u << 0,        // the access was a write (#PF error code W)
  FAULT_FLAG_INSTRUCTION = 1u << 1,  // the access was an instruction fetch (#PF error code I)
};

// Translates a #PF error code into fault flags.
unsigned fault_flags_from_error_code(std::uint32_t error_code);

// The arch fault handler's mm part (do_user_addr_fault): finds the VMA, checks the access
// (kSigsegv when there is no VMA or it forbids the access) and resolves the fault
// (handle_mm_fault). kOom when a page or page table could not be allocated. On return every
// entry is consistent; the caller kills the task for kSigsegv/kOom.
FaultKind do_user_addr_fault(MmEnv& env, MmStruct& mm, VirtAddr address, unsigned flags);

}  // namespace mmusim::mm
