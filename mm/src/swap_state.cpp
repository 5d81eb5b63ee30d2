// The swap device's slot map and the swap cache (mm/swapfile.c, mm/swap_state.c).
#include <cstring>
#include <stdexcept>

#include "mm_env.h"
#include "swap.h"

namespace mmusim::mm {

SwapDevice::SwapDevice(std::uint64_t nr_slots)
    : slots_(nr_slots), nr_free_(nr_slots), active_(nr_slots > 0) {}

bool SwapDevice::in_use(std::uint64_t offset) const {
  return active_ && offset < slots_.size() && slots_[offset].used;
}

std::optional<std::uint64_t> SwapDevice::alloc() {
  if (!active_ || nr_free_ == 0) return std::nullopt;
  for (std::uint64_t offset = 0; offset < slots_.size(); ++offset) {
    Slot& slot = slots_[offset];
    if (slot.used) continue;
    slot.used = true;
    slot.has_cache = true;
    slot.count = 0;
    --nr_free_;
    return offset;
  }
  return std::nullopt;
}

void SwapDevice::release_if_unused(Slot& slot) {
  if (!slot.used || slot.count != 0 || slot.has_cache) return;
  slot.used = false;
  slot.cache = 0;
  ++nr_free_;
}

void SwapDevice::put(std::uint64_t offset) {
  Slot& slot = slots_.at(offset);
  if (slot.count == 0) throw std::logic_error("swap_free of a slot without references");
  --slot.count;
  release_if_unused(slot);
}

void SwapDevice::put_cache(std::uint64_t offset) {
  Slot& slot = slots_.at(offset);
  slot.has_cache = false;
  slot.cache = 0;
  release_if_unused(slot);
}

std::array<std::uint8_t, kPageSize>& SwapDevice::data(std::uint64_t offset) {
  Slot& slot = slots_.at(offset);
  if (!slot.data) slot.data = std::make_unique<std::array<std::uint8_t, kPageSize>>();
  return *slot.data;
}

bool add_to_swap(MmEnv& env, Pfn pfn) {
  env.charge(CostPhase::kPteUpdate, env.costs.swap_slot_cycles);
  const std::optional<std::uint64_t> offset = env.g.swap.alloc();
  if (!offset) return false;
  Page& page = env.pages.page(pfn);
  page.set(PG_swapcache);
  page.set(PG_dirty);  // the slot holds nothing yet: pageout must write it
  page.swap_slot = *offset;
  get_page(env, pfn);  // the swap cache's reference
  env.g.swap.set_cache(*offset, pfn);
  return true;
}

void add_to_swap_cache(MmEnv& env, Pfn pfn, std::uint64_t offset) {
  env.charge(CostPhase::kPteUpdate, env.costs.swap_slot_cycles);
  Page& page = env.pages.page(pfn);
  page.set(PG_swapcache);
  page.swap_slot = offset;
  get_page(env, pfn);
  env.g.swap.set_cache(offset, pfn);
}

void delete_from_swap_cache(MmEnv& env, Pfn pfn) {
  Page& page = env.pages.page(pfn);
  if (!page.test(PG_swapcache)) throw std::logic_error("delete_from_swap_cache: not in it");
  env.charge(CostPhase::kPteUpdate, env.costs.swap_slot_cycles);
  env.g.swap.put_cache(page.swap_slot);
  page.clear(PG_swapcache);
  page.clear(PG_dirty);
  page.swap_slot = 0;
  env.stats.swap_cache_frees.inc();
  put_page(env, pfn);
}

bool try_to_free_swap(MmEnv& env, Pfn pfn) {
  const Page& page = env.pages.page(pfn);
  if (!page.test(PG_swapcache)) return false;
  if (page.test(PG_locked)) return false;  // reclaim owns it (trylock_page failed)
  if (page.test(PG_writeback)) return false;  // folio_test_writeback: the I/O still reads it
  // folio_swapped: another swap entry still needs the slot's contents.
  if (env.g.swap.count(page.swap_slot) != 0) return false;
  delete_from_swap_cache(env, pfn);
  return true;
}

void free_swap_cache(MmEnv& env, Pfn pfn) {
  const Page& page = env.pages.page(pfn);
  if (page.test(PG_swapcache) && page.mapcount == 0) try_to_free_swap(env, pfn);
}

std::optional<Pfn> lookup_swap_cache(MmEnv& env, std::uint64_t offset) {
  env.charge(CostPhase::kPteUpdate, env.costs.swap_slot_cycles);
  const Pfn pfn = env.g.swap.cache_page(offset);
  if (pfn == 0) return std::nullopt;
  return pfn;
}

void swap_duplicate(MmEnv& env, std::uint64_t offset) {
  env.charge(CostPhase::kPteUpdate, env.costs.swap_slot_cycles);
  env.g.swap.dup(offset);
}

void swap_free(MmEnv& env, std::uint64_t offset) {
  env.charge(CostPhase::kPteUpdate, env.costs.swap_slot_cycles);
  env.g.swap.put(offset);
}

void free_swap_and_cache(MmEnv& env, std::uint64_t offset) {
  // A corrupt entry ("Bad swap file entry") is reported by Linux and skipped.
  if (!env.g.swap.in_use(offset) || env.g.swap.count(offset) == 0) return;
  swap_free(env, offset);
  if (env.g.swap.count(offset) != 0) return;
  const Pfn pfn = env.g.swap.cache_page(offset);
  if (pfn == 0) return;
  if (env.pages.page(pfn).mapcount == 0 || vm_swap_full(env)) try_to_free_swap(env, pfn);
}

bool vm_swap_full(const MmEnv& env) {
  const SwapDevice& swap = env.g.swap;
  return swap.nr_free() * 2 < swap.nr_slots();
}

void swap_writepage(MmEnv& env, Pfn pfn, bool sync) {
  Page& page = env.pages.page(pfn);
  // An asynchronous write is submitted, not waited for: its I/O time is not the reclaimer's.
  if (sync) env.charge(CostPhase::kZeroCopy, env.costs.swap_io_page_cycles);
  {
    PhaseScope scope(env.port, CostPhase::kZeroCopy);
    env.port.read_phys(pfn_to_phys(pfn), env.g.swap.data(page.swap_slot).data(), kPageSize);
  }
  page.clear(PG_dirty);
  env.stats.swap_writebacks.inc();
}

void swap_readpage(MmEnv& env, std::uint64_t offset, Pfn pfn) {
  env.charge(CostPhase::kZeroCopy, env.costs.swap_io_page_cycles);
  PhaseScope scope(env.port, CostPhase::kZeroCopy);
  env.port.write_phys(pfn_to_phys(pfn), env.g.swap.data(offset).data(), kPageSize);
  env.stats.swap_reads.inc();
}

}  // namespace mmusim::mm
