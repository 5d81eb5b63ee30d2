// Anon rmap primitives (mm-semantics.md §1.8): the only places PG_anon_exclusive changes (I8).
#include <stdexcept>

#include "mm_env.h"
#include "page.h"

namespace mmusim::mm {

void page_add_new_anon_rmap(MmEnv& env, Pfn pfn, const MmStruct& mm, VirtAddr address) {
  Page& p = env.pages.page(pfn);
  env.charge(CostPhase::kPteUpdate, env.costs.rmap_cycles);
  p.set(PG_anon);
  p.set(PG_anon_exclusive);  // I8(a)
  p.anon_vma = mm.anon_vma_root;
  p.index = address;
  p.mapcount = 1;
}

void page_add_anon_rmap(MmEnv& env, Pfn pfn, const MmStruct& mm, VirtAddr address,
                        bool exclusive) {
  Page& p = env.pages.page(pfn);
  // §3.24: RMAP_EXCLUSIVE only on a first mapping, and an exclusive page is never mapped twice.
  if (p.test(PG_anon_exclusive) || (exclusive && p.mapcount != 0))
    throw std::logic_error("page_add_anon_rmap: exclusive page mapped a second time (I6)");
  env.charge(CostPhase::kPteUpdate, env.costs.rmap_cycles);
  if (!p.test(PG_anon)) {  // __page_set_anon_rmap: a page read past the swap cache
    p.set(PG_anon);
    p.anon_vma = mm.anon_vma_root;
    p.index = address;
  }
  if (exclusive) p.set(PG_anon_exclusive);  // I8(b)
  ++p.mapcount;
}

void page_move_anon_rmap(MmEnv& env, Pfn pfn) {
  Page& p = env.pages.page(pfn);
  if (p.refcount != 1) throw std::logic_error("page_move_anon_rmap without count == 1 (I14)");
  env.charge(CostPhase::kPteUpdate, env.costs.rmap_cycles);
  p.set(PG_anon_exclusive);  // I8(c)
}

bool page_try_dup_anon_rmap(MmEnv& env, Pfn pfn, const MmStruct& src_mm) {
  Page& p = env.pages.page(pfn);
  env.charge(CostPhase::kPteUpdate, env.costs.rmap_dup_cycles);
  if (p.test(PG_anon_exclusive)) {
    // page_needs_cow_for_dma: a pin may be in flight; the child must get its own copy so the
    // pinned page stays this mm's exclusive page (I3, B01). no_eager_fork_copy drops the check.
    if (src_mm.has_pinned && p.maybe_pinned() && !env.inject.no_eager_fork_copy) return false;
    p.clear(PG_anon_exclusive);  // I8(e)
  }
  ++p.mapcount;
  return true;
}

bool page_try_share_anon_rmap(MmEnv& env, Pfn pfn) {
  Page& p = env.pages.page(pfn);
  env.charge(CostPhase::kPteUpdate, env.costs.rmap_cycles);
  if (p.maybe_pinned()) return false;  // I3: a pinned page stays exclusive
  p.clear(PG_anon_exclusive);          // I8(f)
  return true;
}

// §1.8: the mapcount goes down before the mapping's reference is put (I13); EXCL is untouched.
void page_remove_rmap(MmEnv& env, Pfn pfn) {
  Page& p = env.pages.page(pfn);
  if (p.mapcount == 0) throw std::logic_error("page_remove_rmap on an unmapped page");
  env.charge(CostPhase::kPteUpdate, env.costs.rmap_cycles);
  --p.mapcount;
}

}  // namespace mmusim::mm
