// The OS model's parameters (mm/include/mmusim/mm/cost_profile.h, KernelConfig) by name, and
// one `inject.<name>` switch per entry of mm's injection table.
#include "param_binders.h"
#include "param_tables.h"

namespace mmusim::testbench {

using namespace params_detail;

void add_os_params(std::vector<ParamInfo>& t) {
  const std::string kCost = "first estimate toward a ~3,200-cycle minor fault (anchors.md B.2)";
  t.push_back(uint_param<Cycles>("os.exception_entry_cycles", "cycles", "#PF delivery and entry stub", kCost,
                                 MMUSIM_FIELD(kernel.costs.exception_entry_cycles)));
  t.push_back(uint_param<Cycles>("os.exception_exit_cycles", "cycles", "return from exception", kCost,
                                 MMUSIM_FIELD(kernel.costs.exception_exit_cycles)));
  t.push_back(uint_param<Cycles>("os.syscall_entry_cycles", "cycles", "syscall entry", kCost,
                                 MMUSIM_FIELD(kernel.costs.syscall_entry_cycles)));
  t.push_back(uint_param<Cycles>("os.syscall_exit_cycles", "cycles", "syscall exit", kCost,
                                 MMUSIM_FIELD(kernel.costs.syscall_exit_cycles)));
  t.push_back(uint_param<Cycles>("os.vma_lookup_cycles", "cycles", "find_vma and access checks", kCost,
                                 MMUSIM_FIELD(kernel.costs.vma_lookup_cycles)));
  t.push_back(uint_param<Cycles>("os.page_alloc_cycles", "cycles", "page allocation and memcg charge", kCost,
                                 MMUSIM_FIELD(kernel.costs.page_alloc_cycles)));
  t.push_back(uint_param<Cycles>("os.page_free_cycles", "cycles", "page free and memcg uncharge", kCost,
                                 MMUSIM_FIELD(kernel.costs.page_free_cycles)));
  t.push_back(uint_param<Cycles>("os.ptl_cycles", "cycles", "page-table lock acquire and release", kCost,
                                 MMUSIM_FIELD(kernel.costs.ptl_cycles)));
  t.push_back(uint_param<Cycles>("os.rmap_cycles", "cycles", "anon rmap update, LRU add, counters", kCost,
                                 MMUSIM_FIELD(kernel.costs.rmap_cycles)));
  t.push_back(uint_param<Cycles>("os.rmap_dup_cycles", "cycles",
                                 "page_try_dup_anon_rmap at fork (mapcount and refcount increments)",
                                 "calibrated: fork ~4 ms/GiB (anchors.md B.4)", MMUSIM_FIELD(kernel.costs.rmap_dup_cycles)));
  t.push_back(uint_param<Cycles>("os.pte_copy_cycles", "cycles", "copy_present_pte per entry beyond memory traffic",
                                 kCost, MMUSIM_FIELD(kernel.costs.pte_copy_cycles)));
  t.push_back(uint_param<Cycles>("os.vma_copy_cycles", "cycles", "dup_mmap per VMA", kCost,
                                 MMUSIM_FIELD(kernel.costs.vma_copy_cycles)));
  t.push_back(uint_param<Cycles>("os.mm_create_cycles", "cycles", "mm and task creation (fork, exec)", kCost,
                                 MMUSIM_FIELD(kernel.costs.mm_create_cycles)));
  t.push_back(uint_param<Cycles>("os.mmap_cycles", "cycles", "mmap_region", kCost,
                                 MMUSIM_FIELD(kernel.costs.mmap_cycles)));
  t.push_back(uint_param<Cycles>("os.context_switch_cycles", "cycles", "scheduler and switch_mm beyond the CR3 write",
                                 kCost, MMUSIM_FIELD(kernel.costs.context_switch_cycles)));
  const std::string kB2 = "estimate (anchors.md B.2; gup_test calibration is issue 5)";
  t.push_back(uint_param<Cycles>("os.gup_page_cycles", "cycles", "__get_user_pages per page", kB2,
                                 MMUSIM_FIELD(kernel.costs.gup_page_cycles)));
  t.push_back(uint_param<Cycles>("os.gup_fast_page_cycles", "cycles", "GUP-fast per page", kB2,
                                 MMUSIM_FIELD(kernel.costs.gup_fast_page_cycles)));
  t.push_back(uint_param<Cycles>("os.unpin_page_cycles", "cycles", "unpin_user_page", kB2,
                                 MMUSIM_FIELD(kernel.costs.unpin_page_cycles)));
  t.push_back(uint_param<Cycles>("os.vma_split_cycles", "cycles", "__split_vma", kCost,
                                 MMUSIM_FIELD(kernel.costs.vma_split_cycles)));
  t.push_back(uint_param<Cycles>("os.vma_merge_cycles", "cycles", "vma_merge", kCost,
                                 MMUSIM_FIELD(kernel.costs.vma_merge_cycles)));
  t.push_back(uint_param<Cycles>("os.mprotect_pte_cycles", "cycles", "change_pte_range per entry", kCost,
                                 MMUSIM_FIELD(kernel.costs.mprotect_pte_cycles)));
  t.push_back(uint_param<Cycles>("os.zap_pte_cycles", "cycles", "zap_pte_range per entry", kCost,
                                 MMUSIM_FIELD(kernel.costs.zap_pte_cycles)));
  t.push_back(uint_param<Cycles>("os.rmap_walk_cycles", "cycles", "rmap_walk per mm visited", kCost,
                                 MMUSIM_FIELD(kernel.costs.rmap_walk_cycles)));
  t.push_back(uint_param<Cycles>("os.swap_slot_cycles", "cycles", "swap slot allocation / swap cache insertion",
                                 kCost, MMUSIM_FIELD(kernel.costs.swap_slot_cycles)));
  t.push_back(uint_param<Cycles>("os.swap_io_page_cycles", "cycles", "swap device I/O per 4 KiB page",
                                 "80 us NVMe at 3 GHz (anchors.md B.2)", MMUSIM_FIELD(kernel.costs.swap_io_page_cycles)));
  t.push_back(uint_param<std::uint64_t>("mm.swap_slots", "slots", "swap device size in 4 KiB slots (0: no swap)",
                                        "256", MMUSIM_FIELD(kernel.swap_slots)));
  t.push_back(bool_param("mm.swap_synchronous",
                         "a synchronous swap device: swap-in bypasses the swap cache (zram-like, D04)", "off",
                         MMUSIM_FIELD(kernel.swap_synchronous)));
  t.push_back(bool_param("mm.swap_exclusive_marker",
                         "swap entries carry PG_anon_exclusive (Linux >= 5.19); off follows the spec's series",
                         "off: mm-semantics.md §1.2.2", MMUSIM_FIELD(kernel.swap_exclusive_marker)));
  t.push_back(bool_param("mm.mprotect_write_exclusive",
                         "mprotect(RW) makes exclusive anonymous entries writable at once (can_change_pte_writable)",
                         "on: Linux >= 5.19", MMUSIM_FIELD(kernel.mprotect_write_exclusive)));
  t.push_back(bool_param("mm.reclaim_pin_precheck",
                         "reclaim skips maybe-pinned pages before unmapping them (D03); off: the pin check after the flush",
                         "on: shrink_page_list", MMUSIM_FIELD(kernel.reclaim_pin_precheck)));
  t.push_back(bool_param("mm.check_invariants",
                         "check the invariants (I1-I26 that apply) after every OS operation (CONFIG_DEBUG_VM)",
                         "on: correctness first; turn off for long runs", MMUSIM_FIELD(kernel.check_invariants)));
  for (const mm::InjectionInfo& inj : mm::injection_table()) {
    const auto field = inj.field;
    t.push_back({std::string("inject.") + inj.name, "bool",
                 fmt::format("FAULT INJECTION, breaks {}: {}", inj.rule, inj.effect), "off",
                 [field](const SimConfig& c) { return std::string(c.kernel.inject.*field ? "1" : "0"); },
                 [field](SimConfig& c, const std::string& text) { c.kernel.inject.*field = parse_bool(text); }});
  }
}

}  // namespace mmusim::testbench
