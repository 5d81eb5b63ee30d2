// VMA (mm-semantics.md §1.4): a range of an address space with one set of permissions.
#pragma once

#include "mmusim/arch/types.h"
#include "mmusim/mm/mm_types.h"

namespace mmusim::mm {

// vm_flags bits, with Linux's values.
enum VmFlag : unsigned long {
  VM_READ = 0x1,
  VM_WRITE = 0x2,
  VM_EXEC = 0x4,
  VM_SHARED = 0x8,
  VM_MAYREAD = 0x10,
  VM_MAYWRITE = 0x20,
  VM_MAYEXEC = 0x40,
  VM_MAYSHARE = 0x80,
  VM_UFFD_WP = 0x1000,         // userfaultfd write-protect registration (never set: no uffd API)
  VM_DONTCOPY = 0x20000,       // MADV_DONTFORK: not inherited by fork
  VM_WIPEONFORK = 0x2000000,   // MADV_WIPEONFORK: the child gets the area empty
};

inline constexpr unsigned long kVmAccessFlags = VM_READ | VM_WRITE | VM_EXEC;

struct VmArea {
  VirtAddr vm_start = 0;  // first byte
  VirtAddr vm_end = 0;    // first byte after the area
  unsigned long vm_flags = 0;
  // The area has an anon_vma (anon_vma_prepare ran: some page was written). Read faults that map
  // the zero page do not create one, so fork copies nothing from such an area (A09).
  bool anon_vma = false;

  bool contains(VirtAddr va) const { return va >= vm_start && va < vm_end; }
  unsigned long pages() const { return (vm_end - vm_start) >> kPageShift; }
};

// calc_vm_prot_bits: the VM_READ/VM_WRITE/VM_EXEC bits of mmap/mprotect's PROT_* bits.
inline unsigned long calc_vm_prot_bits(unsigned prot) {
  unsigned long flags = 0;
  if (prot & kProtRead) flags |= VM_READ;
  if (prot & kProtWrite) flags |= VM_WRITE;
  if (prot & kProtExec) flags |= VM_EXEC;
  return flags;
}

// is_cow_mapping (§1.4): private and may be written.
inline bool is_cow_mapping(unsigned long vm_flags) {
  return (vm_flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE;
}

}  // namespace mmusim::mm
