// Frame allocator and page references (mm-semantics.md §1.1, §1.1.1).
#include <stdexcept>

#include "mm_env.h"
#include "page.h"

namespace mmusim::mm {

PageAllocator::PageAllocator(std::uint64_t nr_frames) : nr_frames_(nr_frames), pages_(1) {
  if (nr_frames < 1) throw std::invalid_argument("PageAllocator: no frames");
  pages_[0].set(PG_reserved);  // frame 0 is never used
}

std::optional<Pfn> PageAllocator::alloc() {
  Pfn pfn;
  if (!free_list_.empty()) {
    pfn = free_list_.back();
    free_list_.pop_back();
  } else if (watermark() < nr_frames_) {
    pfn = watermark();
    pages_.emplace_back();
  } else {
    return std::nullopt;
  }
  pages_[pfn] = Page{};
  pages_[pfn].refcount = 1;
  return pfn;
}

void PageAllocator::free(Pfn pfn) {
  Page& p = page(pfn);
  if (pfn == 0 || p.test(PG_buddy) || p.test(PG_reserved) || p.refcount != 0 || p.mapcount != 0)
    throw std::logic_error("free of a frame that is free, reserved or still referenced");
  p = Page{};
  p.set(PG_buddy);
  free_list_.push_back(pfn);
}

std::optional<Pfn> alloc_page(MmEnv& env) {
  env.charge(CostPhase::kAlloc, env.costs.page_alloc_cycles);
  std::optional<Pfn> pfn = env.pages.alloc();
  if (pfn) env.stats.pages_allocated.inc();
  return pfn;
}

std::optional<Pfn> alloc_zeroed_user_page(MmEnv& env) {
  std::optional<Pfn> pfn = alloc_page(env);
  if (!pfn) return std::nullopt;
  PhaseScope scope(env.port, CostPhase::kZeroCopy);
  env.port.zero_frame(*pfn);
  env.stats.zero_fills.inc();
  return pfn;
}

void get_page(MmEnv& env, Pfn pfn) { ++env.pages.page(pfn).refcount; }

void put_page(MmEnv& env, Pfn pfn) {
  Page& p = env.pages.page(pfn);
  if (p.refcount == 0) throw std::logic_error("put_page on a page with refcount 0");
  if (--p.refcount > 0) return;
  // I13: the mapcount was dropped before the last reference.
  if (p.mapcount != 0) throw std::logic_error("last reference dropped while still mapped (I13)");
  // The swap cache holds a reference of its own: a page in it cannot reach 0.
  if (p.test(PG_swapcache)) throw std::logic_error("last reference dropped while in the swap cache");
  const bool pgtable = p.test(PG_pgtable);
  env.charge(CostPhase::kAlloc, env.costs.page_free_cycles);
  env.pages.free(pfn);
  env.stats.pages_freed.inc();
  if (pgtable) env.stats.pgtables_freed.inc();
}

void put_page_refs(MmEnv& env, Pfn pfn, std::uint32_t nr) {
  Page& p = env.pages.page(pfn);
  if (nr == 0) return;
  if (p.refcount < nr) throw std::logic_error("put_page_refs below zero");
  p.refcount -= nr - 1;
  put_page(env, pfn);
}

}  // namespace mmusim::mm
