// struct page and the frame allocator (mm-semantics.md §1.1, §1.1.1, §1.1.2).
//
// One Page per frame, indexed by PFN. Frames [1, nr_frames) are managed; frame 0 is never handed
// out, so a zero PFN never names a real page.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "mmusim/arch/types.h"

namespace mmusim::mm {

struct MmEnv;
struct MmStruct;

// Page flags (the kernel's PG_* bits this model needs).
enum PageFlag : std::uint32_t {
  PG_buddy = 1u << 0,           // on the free list (PageBuddy)
  PG_anon = 1u << 1,            // anonymous memory (folio_test_anon)
  PG_anon_exclusive = 1u << 2,  // §1.1.2: only this mapping may reach the page; cleared on free
  PG_pgtable = 1u << 3,         // holds a page table (PageTable)
  PG_reserved = 1u << 4,        // never freed: the shared zero page, swapper_pg_dir
  PG_swapcache = 1u << 5,       // in the swap cache under Page::swap_slot (§1.1)
  PG_dirty = 1u << 6,           // newer than its swap slot: must be written before it is freed
  PG_locked = 1u << 7,          // the page lock; reclaim holds it across its shootdowns
  PG_writeback = 1u << 8,       // swap I/O to its slot in flight: the swap cache cannot drop it
};

// GUP_PIN_COUNTING_BIAS: a FOLL_PIN on an order-0 page adds this to page_count (§1.1.1).
inline constexpr std::uint32_t kGupPinCountingBias = 1024;

struct Page {
  std::uint32_t refcount = 0;  // page_count (§1.1.1): mappings, swap cache, pins, gets
  std::uint32_t mapcount = 0;  // number of PTEs mapping the page (unbiased, unlike Linux)
  std::uint32_t flags = 0;
  std::uint64_t swap_slot = 0;  // page->private: the swap offset while PG_swapcache
  // Anon rmap (page->mapping, page->index): the anon_vma family of the mm that created the page
  // and the address it is mapped at in every mm of that family (no mremap in this model).
  std::uint64_t anon_vma = 0;
  VirtAddr index = 0;

  bool test(PageFlag flag) const { return (flags & flag) != 0; }
  void set(PageFlag flag) { flags |= flag; }
  void clear(PageFlag flag) { flags &= ~static_cast<std::uint32_t>(flag); }
  // page_maybe_dma_pinned for order-0 pages: false positives possible, no false negatives (I15).
  bool maybe_pinned() const { return refcount >= kGupPinCountingBias; }
};

// Deterministic frame allocator: frames never handed out are taken in ascending order, freed
// frames are reused last-in first-out (like a per-CPU free list), so a run always gets the same
// PFNs. Struct pages exist for frames [1, watermark()).
class PageAllocator {
 public:
  explicit PageAllocator(std::uint64_t nr_frames);

  // A frame with refcount 1 and no flags; nullopt when memory is exhausted.
  std::optional<Pfn> alloc();
  // Returns a frame whose refcount reached 0; its flags (PG_anon_exclusive included, I8) are
  // cleared.
  void free(Pfn pfn);

  Page& page(Pfn pfn) { return pages_.at(pfn); }
  const Page& page(Pfn pfn) const { return pages_.at(pfn); }
  bool in_use(Pfn pfn) const { return pfn > 0 && pfn < watermark() && !page(pfn).test(PG_buddy); }
  Pfn watermark() const { return static_cast<Pfn>(pages_.size()); }
  std::uint64_t nr_free() const { return nr_frames_ - watermark() + free_list_.size(); }

 private:
  std::uint64_t nr_frames_;
  std::vector<Page> pages_;     // index = pfn; pages_[0] is the unused frame 0
  std::vector<Pfn> free_list_;  // LIFO
};

// Charged helpers (page_alloc.cpp). alloc_page charges page_alloc_cycles and counts
// pages_allocated; put_page frees the frame when the last reference goes.
std::optional<Pfn> alloc_page(MmEnv& env);
// A zeroed frame for user memory (counts zero_fills).
std::optional<Pfn> alloc_zeroed_user_page(MmEnv& env);
void get_page(MmEnv& env, Pfn pfn);
void put_page(MmEnv& env, Pfn pfn);
// Drops `nr` references at once (unpin of a FOLL_PIN: GUP_PIN_COUNTING_BIAS).
void put_page_refs(MmEnv& env, Pfn pfn, std::uint32_t nr);

// Anon rmap primitives (§1.8, rmap.cpp). The caller holds the PTL of the entry concerned.
// A fresh page, visible to nobody else, becomes `mm`'s exclusive page at `address` (I8a).
void page_add_new_anon_rmap(MmEnv& env, Pfn pfn, const MmStruct& mm, VirtAddr address);
// One more mapping of an existing page (swap-in, swapoff). `exclusive` (RMAP_EXCLUSIVE) only on
// its first mapping (I8b); a page without PG_anon (read past the swap cache) becomes `mm`'s.
void page_add_anon_rmap(MmEnv& env, Pfn pfn, const MmStruct& mm, VirtAddr address,
                        bool exclusive);
// The caller proved count == 1 (I14); the page becomes exclusive again (I8c).
void page_move_anon_rmap(MmEnv& env, Pfn pfn);
// Fork only, seq(src) odd (B3). Fails, changing nothing, for an exclusive page that may be
// pinned in an mm with MMF_HAS_PINNED; else EXCL := 0 and mapcount++ (I8e).
bool page_try_dup_anon_rmap(MmEnv& env, Pfn pfn, const MmStruct& src_mm);
// Everyone but fork, after the entry was cleared and the flush completed (B2, R4). Fails for a
// maybe-pinned page; else EXCL := 0 (I8f).
bool page_try_share_anon_rmap(MmEnv& env, Pfn pfn);
void page_remove_rmap(MmEnv& env, Pfn pfn);

}  // namespace mmusim::mm
