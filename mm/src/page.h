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

// Page flags (the kernel's PG_* bits this model needs).
enum PageFlag : std::uint32_t {
  PG_buddy = 1u << 0,           // on the free list (PageBuddy)
  PG_anon = 1u << 1,            // anonymous memory (folio_test_anon)
  PG_anon_exclusive = 1u << 2,  // §1.1.2: only this mapping may reach the page; cleared on free
  PG_pgtable = 1u << 3,         // holds a page table (PageTable)
  PG_reserved = 1u << 4,        // never freed: the shared zero page, swapper_pg_dir
};

struct Page {
  std::uint32_t refcount = 0;  // page_count (§1.1.1): one per mapping plus transient references
  std::uint32_t mapcount = 0;  // number of PTEs mapping the page (unbiased, unlike Linux)
  std::uint32_t flags = 0;

  bool test(PageFlag flag) const { return (flags & flag) != 0; }
  void set(PageFlag flag) { flags |= flag; }
  void clear(PageFlag flag) { flags &= ~static_cast<std::uint32_t>(flag); }
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

// Anon rmap primitives (§1.8). The caller holds the PTL of the entry concerned.
void page_add_new_anon_rmap(MmEnv& env, Pfn pfn);
void page_move_anon_rmap(MmEnv& env, Pfn pfn);
// Fork only, seq(src) odd. Without pins (this issue) it never fails: EXCL := 0, mapcount++.
void page_try_dup_anon_rmap(MmEnv& env, Pfn pfn);
void page_remove_rmap(MmEnv& env, Pfn pfn);

}  // namespace mmusim::mm
