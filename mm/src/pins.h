// The table of outstanding GUP pins and references, and of open GUP-fast sections (§3.8-§3.10).
#pragma once

#include <cstdint>
#include <map>

#include "mmusim/arch/types.h"
#include "mmusim/arch/x86_paging.h"

namespace mmusim::mm {

// One pin (FOLL_PIN) or reference (FOLL_GET) handed out by pin_user_pages*.
struct Pin {
  long id = 0;
  int pid = -1;
  std::uint64_t mm_id = 0;  // MmStruct::id of the pinned address space
  VirtAddr va = 0;          // page aligned
  Pfn pfn = 0;
  unsigned flags = 0;       // GupFlags
  bool fast = false;        // taken by GUP-fast
  bool holds_ref = false;   // false for the shared zero page, whose count GUP leaves alone
  // The user removed the mapping at va (munmap, MADV_DONTNEED, MAP_FIXED, exit): from then on the
  // pin is decoupled from the address space by the user's own action, which I4 allows (§3.19).
  bool detached = false;
};

// An open GUP-fast section: state of §4.4 G1/Q1 between gup_fast_begin and gup_fast_end.
struct GupFastCursor {
  CpuId cpu = 0;
  int pid = -1;
  std::uint64_t mm_id = 0;
  VirtAddr va = 0;
  unsigned flags = 0;
  std::uint64_t seq = 0;  // write_protect_seq sampled before the walk (Q1)
  bool bailed = false;    // G1 found nothing GUP-fast may take: end goes to the slow path
  bool irqs_disabled = false;  // begin called local_irq_disable; end enables them again
  PhysAddr ptep = 0;      // the entry read (G1)
  x86::PteVal pte = 0;
};

struct PinTable {
  std::map<long, Pin> pins;
  std::map<long, GupFastCursor> cursors;
  long next_pin = 1;
  long next_cursor = 1;

  // The user unmapped `va` in mm `mm_id`: its pins become detached (see Pin::detached).
  void detach(std::uint64_t mm_id, VirtAddr va) {
    for (auto& [id, pin] : pins)
      if (pin.mm_id == mm_id && pin.va == va) pin.detached = true;
  }
};

}  // namespace mmusim::mm
