// The fault-injection table (injections.h): one row per Injections field, in declaration order.
#include "mmusim/mm/injections.h"

namespace mmusim::mm {

const std::vector<InjectionInfo>& injection_table() {
  static const std::vector<InjectionInfo> table = {
      {"break_cow", "I5",
       "do_wp_page reuses a possibly-shared anonymous page instead of copying it: a write after "
       "fork becomes visible to the other process (missed COW) and the page is mapped writable "
       "without PG_anon_exclusive (I1).",
       &Injections::break_cow},
      {"skip_cow_flush", "R1",
       "wp_page_copy overwrites the old entry with the new page without clear + shootdown "
       "(no break-before-make): other CPUs keep translating to the old page, and after its "
       "other sharer reuses it they read that process's data (race T2/T3).",
       &Injections::skip_cow_flush},
      {"early_cow_unmap", "R2",
       "wp_page_copy drops the old page's mapcount and reference before its clear + shootdown: "
       "the other sharer can reuse the old page and write it while a stale translation of "
       "this mm still reads it (race T2).",
       &Injections::early_cow_unmap},
      {"skip_fork_flush", "R3",
       "fork returns without flushing the parent mm: a CPU that cached a writable translation "
       "keeps storing into the now-shared page and the child sees it (missed COW, race T1, C04).",
       &Injections::skip_fork_flush},
      {"skip_swapout_flush", "R4/R10",
       "swap-out of an exclusive page clears the entry and checks for pins without the "
       "synchronous shootdown; the flush is issued only after writeback. GUP-fast is no longer "
       "synchronized with the pin check (race T4) and stores through stale translations after "
       "the writeback are lost (race T9 shape).",
       &Injections::skip_swapout_flush},
      {"skip_reclaim_batch_flush", "R9",
       "reclaim never completes the batched flush of non-exclusive entries: CPUs keep read-only "
       "translations of a page that is written back and freed, and read whatever its next owner "
       "stores (use-after-free).",
       &Injections::skip_reclaim_batch_flush},
      {"plain_pte_clear", "HW3",
       "entries are cleared (wp_page_copy, try_to_unmap_one, zap) with a plain store through "
       "ArchPort::store_pte instead of a locked exchange; on a machine with store buffers the "
       "clear may become visible after the clearing CPU's pin check (race T4, R02).",
       &Injections::plain_pte_clear},
      {"skip_mprotect_flush", "R5",
       "mprotect returns without flushing the changed range: a CPU with a cached writable "
       "translation keeps writing after mprotect(PROT_READ) returned (race T14, M03).",
       &Injections::skip_mprotect_flush},
      {"free_before_flush", "R6",
       "zap (munmap, MADV_DONTNEED, exit) releases the pages before the TLB flush: a page can be "
       "reallocated while another CPU still translates to it (race T10, Z03).",
       &Injections::free_before_flush},
      {"skip_pgtable_flush", "R11",
       "munmap frees empty page tables without a flush that drops paging-structure caches: a "
       "walker can follow a stale cached PMD into a freed (and reused) table (races T10/T12).",
       &Injections::skip_pgtable_flush},
      {"skip_nested_flush", "R6",
       "a zap (MADV_DONTNEED under mmap_lock read) that ran while another zap of the mm had its "
       "flush pending returns without the forced whole-mm flush (mm_tlb_flush_nested): it "
       "skipped the entries the other one had cleared, so after it returns a CPU can still read "
       "the old contents through a stale translation (races/zap_nested_flush, §3.19 concurrent zappers).",
       &Injections::skip_nested_flush},
      {"skip_fork_seqcount", "R13",
       "fork does not increment write_protect_seq around the page-table copy: a GUP-fast pin "
       "taken between fork's pin check and its write-protect survives on a page now shared with "
       "the child (race T6, B10).",
       &Injections::skip_fork_seqcount},
      {"skip_fork_seq_fence", "R13",
       "fork issues no full fence after its first write_protect_seq increment (and the model's "
       "page-table-lock acquisition is no fence either): the odd count, a plain store, can "
       "still sit in the forking CPU's store buffer while fork checks for pins, so a GUP-fast "
       "pin taken in that window reads an even count before and after it and survives on a "
       "page fork then shares (§4.4 (b), §5.13 R06; races/R06_fork_seq_fence).",
       &Injections::skip_fork_seq_fence},
      {"skip_unshare", "I2",
       "gup_must_unshare always answers no: a read-only FOLL_PIN pins a possibly-shared page "
       "without FAULT_FLAG_UNSHARE, and a later write fault copies away from the pin (the "
       "pre-series wrong COW of B07: pin no longer consistent).",
       &Injections::skip_unshare},
      {"no_eager_fork_copy", "I3",
       "page_try_dup_anon_rmap ignores pins: fork shares a maybe-pinned exclusive page with the "
       "child instead of copying it, so the pinned page loses PG_anon_exclusive and the "
       "parent's next write copies away from the pin (B01/B02 wrong COW).",
       &Injections::no_eager_fork_copy},
  };
  return table;
}

}  // namespace mmusim::mm
