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
