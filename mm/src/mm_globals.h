// State shared by every address space: the frames, the swap device, the pins, the live mms (for
// rmap walks and swapoff) and page tables whose freeing waits for GUP-fast sections (§4.4 (c)).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "mm_struct.h"
#include "page.h"
#include "pins.h"
#include "swap.h"

namespace mmusim::mm {

struct MmGlobals {
  MmGlobals(std::uint64_t nr_frames, std::uint64_t swap_slots) : pages(nr_frames), swap(swap_slots) {}

  PageAllocator pages;
  SwapDevice swap;
  PinTable pins;
  std::map<std::uint64_t, MmStruct*> mms;  // live mms by MmStruct::id (fork's child once born)
  std::uint64_t next_mm_id = 1;
  Pfn zero_pfn = 0;
  // Page tables freed while a GUP-fast section was open: released when the last one ends, as
  // IPI- or RCU-delayed table freeing guarantees (tlb_remove_table).
  std::vector<Pfn> deferred_tables;
  // Page-table locks held across a shootdown (wp_page_copy, try_to_unmap_one): the PTE table's
  // address and the CPU holding it. Other PTL users wait for it (locks.h).
  std::map<PhysAddr, CpuId> ptl_held;
};

}  // namespace mmusim::mm
