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
  std::uint64_t id = 0;  // unique over the run, never reused (pins and rmap name mms by it)
  int pid = -1;          // owner; -1 while fork builds it
  Pfn pgd = 0;           // root table (PML4) frame
  Pcid pcid = 0;         // 1..4095, unique among live mms
  // CPUs that may cache translations of this mm: every CPU that ever ran it. Bits are never
  // cleared while the mm lives, because CR3 writes keep the PCID's entries (noflush), so a CPU
  // that switched away still holds them and must receive this mm's flushes.
  CpuMask cpumask;
  std::map<VirtAddr, VmArea> mmap;  // VMAs keyed by vm_start, non-overlapping
  // The anon_vma family (root anon_vma): shared by a process and the children it forks, so the
  // rmap walk of an anonymous page visits exactly the mms that may map it.
  std::uint64_t anon_vma_root = 0;
  std::uint64_t write_protect_seq = 0;  // odd while fork copies a COW mapping (B3, I21)
  // Where the count lives in simulated memory, as GUP-fast on other CPUs reads it (§4.4 (b)):
  // fork stores each new value there with a plain store, which the forking CPU's store buffer
  // may hold (0: not in memory; see wp_seq_slot).
  PhysAddr write_protect_seq_pa = 0;
  // tlb_flush_pending: operations that changed entries and have not completed their flush yet
  // (an mmu_gather, mprotect's bracket). Above 1, zaps run in parallel (R5, R6).
  unsigned tlb_flush_pending = 0;
  bool has_pinned = false;              // MMF_HAS_PINNED: a FOLL_PIN was attempted (I16, sticky)
  std::uint64_t rss_anon = 0;           // MM_ANONPAGES: anonymous pages mapped
  std::uint64_t rss_swap = 0;           // MM_SWAPENTS: swap entries
  std::uint64_t nr_ptes = 0;            // PTE (level-1) tables
  std::vector<Pfn> pgtables;            // every table frame below the pgd

  // Operations interleave where one waits in a shootdown to other CPUs (ArchPort::flush_tlb).
  unsigned users = 0;         // mm_users: operations in flight on this mm
  bool dying = false;         // the task exited or was killed; torn down when users reaches 0
  unsigned mmap_readers = 0;  // mmap_lock held for read (faults, GUP, MADV_DONTNEED)
  bool mmap_writer = false;   // mmap_lock held for write (fork, mmap, munmap, mprotect, madvise)

  // find_vma restricted to areas containing `va`: nullptr when none does.
  VmArea* find_vma(VirtAddr va) {
    auto it = mmap.upper_bound(va);
    if (it == mmap.begin()) return nullptr;
    --it;
    return it->second.contains(va) ? &it->second : nullptr;
  }
  const VmArea* find_vma(VirtAddr va) const { return const_cast<MmStruct*>(this)->find_vma(va); }
};

// The mm_structs' write_protect_seq words live in frame 0, which the page allocator never hands
// out: the mm with PCID p uses the word at 8 * p (PCIDs are unique among live mms, and PCID 0 is
// never an mm's). From PCID 512 on there is no word: such an mm keeps the count only in
// MmStruct, read and written in order, so the store buffer's effect on it (R06) is not modelled
// for it.
inline PhysAddr wp_seq_slot(Pcid pcid) {
  return pcid < kPageSize / 8 ? PhysAddr{8} * pcid : PhysAddr{0};
}

// raw_write_seqcount_begin/end's store of the new count: a plain store (ArchPort::store_pte),
// which the forking CPU's store buffer may hold until a fence (§4.4 (b)).
inline void publish_write_protect_seq(ArchPort& port, const MmStruct& mm) {
  if (mm.write_protect_seq_pa != 0) port.store_pte(mm.write_protect_seq_pa, mm.write_protect_seq);
}

// raw_read_seqcount on the CPU running GUP-fast: the count as that CPU sees it (memory, or its
// own store buffer).
inline std::uint64_t read_write_protect_seq(ArchPort& port, const MmStruct& mm) {
  return mm.write_protect_seq_pa != 0 ? port.read_pte(mm.write_protect_seq_pa)
                                      : mm.write_protect_seq;
}

}  // namespace mmusim::mm
