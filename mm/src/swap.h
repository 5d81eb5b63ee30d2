// The swap device and the swap cache (mm-semantics.md §1.1 SwapCache, §1.2.2 swap entries, §3.13,
// §3.14). One device of type 0 whose slots keep page contents in host memory; the I/O cost of a
// slot read or write is CostProfile::swap_io_page_cycles.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "mmusim/arch/types.h"

namespace mmusim::mm {

struct MmEnv;

// swap_info_struct of the single device: swap_map counts and the SWAP_HAS_CACHE bit per slot.
class SwapDevice {
 public:
  explicit SwapDevice(std::uint64_t nr_slots);

  bool active() const { return active_; }
  std::uint64_t nr_slots() const { return active_ ? slots_.size() : 0; }
  std::uint64_t nr_free() const { return active_ ? nr_free_ : 0; }
  // The slot exists and is in use (swap_map != 0).
  bool in_use(std::uint64_t offset) const;
  // get_swap_page: the lowest free slot, with SWAP_HAS_CACHE set and no entry references.
  std::optional<std::uint64_t> alloc();
  std::uint32_t count(std::uint64_t offset) const { return slots_.at(offset).count; }
  Pfn cache_page(std::uint64_t offset) const { return slots_.at(offset).cache; }
  // SWAP_HAS_CACHE set: `pfn` is the slot's swap-cache page.
  void set_cache(std::uint64_t offset, Pfn pfn) {
    slots_.at(offset).has_cache = true;
    slots_.at(offset).cache = pfn;
  }
  void dup(std::uint64_t offset) { ++slots_.at(offset).count; }      // swap_duplicate
  void put(std::uint64_t offset);                                     // swap_free's count drop
  void put_cache(std::uint64_t offset);                               // SWAP_HAS_CACHE cleared
  std::array<std::uint8_t, kPageSize>& data(std::uint64_t offset);
  void deactivate() { active_ = false; }                              // swapoff done

 private:
  struct Slot {
    std::uint32_t count = 0;  // swap entries (and bypassing swap-ins) referring to the slot
    bool has_cache = false;   // SWAP_HAS_CACHE: a swap-cache page exists or is being added
    Pfn cache = 0;            // that page
    bool used = false;
    std::unique_ptr<std::array<std::uint8_t, kPageSize>> data;
  };
  void release_if_unused(Slot& slot);

  std::vector<Slot> slots_;
  std::uint64_t nr_free_;
  bool active_;
};

// Swap cache and swap-map operations (swap_state.cpp). Pages passed in are anonymous.
// add_to_swap: allocate a slot and put the page in the swap cache (PG_swapcache, one reference,
// PG_dirty: the slot holds nothing yet). False when no slot is free.
bool add_to_swap(MmEnv& env, Pfn pfn);
// A page freshly read for `offset` enters the swap cache (read_swap_cache_async).
void add_to_swap_cache(MmEnv& env, Pfn pfn, std::uint64_t offset);
// The swap cache's reference goes; the slot keeps only its entry references.
void delete_from_swap_cache(MmEnv& env, Pfn pfn);
// try_to_free_swap: drops the swap cache copy when no swap entry refers to the slot any more.
bool try_to_free_swap(MmEnv& env, Pfn pfn);
// free_swap_cache: try_to_free_swap for a swap-cache page no entry maps (zap, COW release).
void free_swap_cache(MmEnv& env, Pfn pfn);
std::optional<Pfn> lookup_swap_cache(MmEnv& env, std::uint64_t offset);
void swap_duplicate(MmEnv& env, std::uint64_t offset);
void swap_free(MmEnv& env, std::uint64_t offset);
// zap of a swap entry: its reference goes; the swap cache copy too if nothing maps it or swap
// is more than half full (TTRS_UNMAPPED | TTRS_FULL).
void free_swap_and_cache(MmEnv& env, std::uint64_t offset);
// vm_swap_full: more than half of the slots are used.
bool vm_swap_full(const MmEnv& env);
// Page contents to and from a slot (swap_writepage / swap_readpage), charged as I/O; the write
// is charged only when `sync` (the caller waits for it). The model copies the bytes at once.
void swap_writepage(MmEnv& env, Pfn pfn, bool sync = true);
void swap_readpage(MmEnv& env, std::uint64_t offset, Pfn pfn);

}  // namespace mmusim::mm
