// struct mm_struct (mm-semantics.md §1.5): one address space.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "mmusim/arch/types.h"
#include "mmusim/mm/arch_port.h"
#include "vma.h"

namespace mmusim::mm {

struct MmStruct {
  Pfn pgd = 0;       // root table (PML4) frame
  Pcid pcid = 0;     // 1..4095, unique among live mms
  // CPUs that may cache translations of this mm: every CPU that ever ran it. Bits are never
  // cleared while the mm lives, because CR3 writes keep the PCID's entries (noflush), so a CPU
  // that switched away still holds them and must receive this mm's flushes.
  CpuMask cpumask;
  std::map<VirtAddr, VmArea> mmap;  // VMAs keyed by vm_start, non-overlapping
  std::uint64_t write_protect_seq = 0;  // odd while fork copies a COW mapping (B3, I21)
  std::uint64_t rss_anon = 0;           // MM_ANONPAGES: anonymous pages mapped
  std::uint64_t nr_ptes = 0;            // PTE (level-1) tables
  std::vector<Pfn> pgtables;            // every table frame below the pgd, freed at exit

  // find_vma restricted to areas containing `va`: nullptr when none does.
  VmArea* find_vma(VirtAddr va) {
    auto it = mmap.upper_bound(va);
    if (it == mmap.begin()) return nullptr;
    --it;
    return it->second.contains(va) ? &it->second : nullptr;
  }
};

}  // namespace mmusim::mm
