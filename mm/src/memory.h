// Page-fault handling on private anonymous memory (mm-semantics.md §3.1-§3.5, §3.14).
#pragma once

#include "mm_env.h"
#include "mm_struct.h"
#include "pte.h"

namespace mmusim::mm {

// Fault flags (struct vm_fault.flags) this model needs.
enum FaultFlag : unsigned {
  FAULT_FLAG_WRITE = 1u << 0,        // the access was a write (#PF error code W)
  FAULT_FLAG_INSTRUCTION = 1u << 1,  // the access was an instruction fetch (#PF error code I)
  FAULT_FLAG_UNSHARE = 1u << 2,      // GUP wants an exclusive anon page, no write (§3.5)
  FAULT_FLAG_REMOTE = 1u << 3,       // raised by GUP (faultin_page), not by a user access
};

// Translates a #PF error code into fault flags.
unsigned fault_flags_from_error_code(std::uint32_t error_code);

// The arch fault handler's mm part (do_user_addr_fault): finds the VMA, checks the access
// (kSigsegv when there is no VMA or it forbids the access) and resolves the fault
// (handle_mm_fault). kOom when a page or page table could not be allocated. On return every
// entry is consistent; the caller kills the task when the result carries a signal (kSigsegv and
// kOom results get theirs from the caller; SIGBUS comes back set).
FaultResult do_user_addr_fault(MmEnv& env, MmStruct& mm, VirtAddr address, unsigned flags);

// handle_mm_fault (§3.2) for an access already checked against the VMA (by do_user_addr_fault,
// or by GUP's check_vma_flags). `address` is page aligned. Exactly one of WRITE / UNSHARE or
// neither (a read).
FaultResult handle_mm_fault(MmEnv& env, MmStruct& mm, VmArea& vma, VirtAddr address,
                            unsigned flags);

// ---- shared by the fault handlers (memory.cpp, swap_memory.cpp) ----

// struct vm_fault: one fault being handled.
struct VmFault {
  MmStruct& mm;
  VmArea& vma;
  VirtAddr address;  // page aligned
  unsigned flags;
  PhysAddr ptep = 0;        // the PTE slot
  x86::PteVal orig_pte = 0;  // snapshot taken before the PTL (B1)

  bool write() const { return (flags & FAULT_FLAG_WRITE) != 0; }
  bool unshare() const { return (flags & FAULT_FLAG_UNSHARE) != 0; }
};

x86::PteVal read_pte(MmEnv& env, PhysAddr ptep);
void set_pte(MmEnv& env, PhysAddr ptep, x86::PteVal value);
// B1: take the PTL and check that the entry is still the snapshot the decision was made on.
bool pte_same_locked(MmEnv& env, const VmFault& vmf);
// §3.3: a present, non-writable entry and WRITE xor UNSHARE.
FaultKind do_wp_page(MmEnv& env, VmFault& vmf);
// §3.14: a swap entry.
FaultResult do_swap_page(MmEnv& env, VmFault& vmf);

}  // namespace mmusim::mm
