// do_swap_page (mm-semantics.md §3.14): a fault on a swap entry.
#include "debug_vm.h"
#include "locks.h"
#include "memory.h"
#include "swap.h"

namespace mmusim::mm {
namespace {

// The page for the entry's slot, with one reference for the caller (the future mapping's):
// the swap-cache page, or one read from the device. A synchronous device with a single reference
// to the slot reads into a fresh page that bypasses the swap cache (`*bypassed`, D04). nullopt
// with `*busy` when the page is locked by an operation suspended in a shootdown, without it
// when memory is exhausted.
std::optional<Pfn> swapin_page(MmEnv& env, std::uint64_t offset, bool* bypassed, bool* busy) {
  if (std::optional<Pfn> cached = lookup_swap_cache(env, offset)) {
    // lock_page_or_retry: a reclaim suspended in a shootdown holds the page lock.
    if (!wait_until(env, [&] { return !env.pages.page(*cached).test(PG_locked); })) {
      *busy = true;
      return std::nullopt;
    }
    get_page(env, *cached);
    return cached;
  }
  std::optional<Pfn> page = alloc_page(env);
  if (!page) return std::nullopt;
  *bypassed = env.config.swap_synchronous && env.g.swap.count(offset) == 1;
  if (!*bypassed) add_to_swap_cache(env, *page, offset);  // read_swap_cache_async
  swap_readpage(env, offset, *page);
  return page;
}

// should_try_to_free_swap: drop the swap cache now if swap is filling up, or if this write fault
// would otherwise have to copy only because of the swap cache's reference.
bool should_try_to_free_swap(const MmEnv& env, const Page& page, const VmFault& vmf) {
  if (!page.test(PG_swapcache)) return false;
  if (vm_swap_full(env)) return true;
  return vmf.write() && page.refcount == 2;  // this fault's reference + the swap cache's
}

}  // namespace

// Pre: orig_pte is a swap entry; mmap_lock read. Post: the page is mapped R/O, exclusive iff
// proved (not the swap-cache page, or count == 1; or, with swap_exclusive_marker, the entry's
// marker), writable iff exclusive and WRITE. A WRITE that could not be consumed continues into
// do_wp_page in the same fault (step 10), usually a copy. No flush: none -> present.
FaultResult do_swap_page(MmEnv& env, VmFault& vmf) {
  const std::uint64_t offset = pte_swp_offset(vmf.orig_pte);
  // A swap entry naming no slot in use is corrupt ("Bad swap entry"): VM_FAULT_SIGBUS.
  if (pte_swp_type(vmf.orig_pte) != 0 || !env.g.swap.in_use(offset) ||
      env.g.swap.count(offset) == 0)
    return {FaultKind::kSwapIn, Signal::kSigbus};
  bool bypassed = false, busy = false;
  const std::optional<Pfn> pfn = swapin_page(env, offset, &bypassed, &busy);
  if (!pfn) return {busy ? FaultKind::kSpurious : FaultKind::kOom};  // VM_FAULT_RETRY / OOM
  Page& page = env.pages.page(*pfn);
  if (!pte_same_locked(env, vmf)) {  // B1: someone else swapped it in meanwhile
    put_page(env, *pfn);
    return {FaultKind::kSpurious};
  }
  // I10: a page reached through a swap entry cannot be exclusive; the marker, if any, is in the
  // entry.
  vm_bug_on(env, page.test(PG_anon_exclusive), "do_swap_page", "I10", vmf.mm.pid, vmf.address,
            *pfn, "page found through a swap entry is PG_anon_exclusive");
  swap_free(env, offset);  // this entry's reference
  if (should_try_to_free_swap(env, page, vmf)) try_to_free_swap(env, *pfn);
  ++vmf.mm.rss_anon;
  --vmf.mm.rss_swap;
  env.stats.swap_ins.inc();
  // Exclusivity detection (step 6): a page nobody else can hold a reference to.
  bool exclusive = bypassed || page.refcount == 1;
  if (env.config.swap_exclusive_marker && pte_swp_exclusive(vmf.orig_pte)) exclusive = true;
  PteVal entry = mk_pte(*pfn, vmf.vma.vm_flags);
  bool write_consumed = false;
  if (exclusive && vmf.write()) {
    entry = maybe_mkwrite(pte_mkdirty(entry), vmf.vma.vm_flags);
    write_consumed = true;
  }
  if (pte_swp_soft_dirty(vmf.orig_pte)) entry |= x86::kSoftSoftDirty;
  if (pte_swp_uffd_wp(vmf.orig_pte)) entry = (entry | x86::kSoftUffdWp) & ~x86::kRw;  // I18
  page_add_anon_rmap(env, *pfn, vmf.mm, vmf.address, exclusive);  // RMAP_EXCLUSIVE (I8b)
  set_pte(env, vmf.ptep, entry);
  vm_bug_on(env, x86::pte_write(entry) && !page.test(PG_anon_exclusive), "do_swap_page", "I1",
            vmf.mm.pid, vmf.address, *pfn, "swapped-in page mapped writable without EXCL");
  if (vmf.write() && !write_consumed) {
    vmf.orig_pte = entry;
    do_wp_page(env, vmf);  // step 10: usually WP-copy; counted in copies, not as a second fault
  }
  return {FaultKind::kSwapIn};
}

}  // namespace mmusim::mm
