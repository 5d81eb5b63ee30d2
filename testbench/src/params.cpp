#include "mmusim/testbench/params.h"

#include "mmusim/testbench/scenario.h"

#include <fmt/format.h>

#include <limits>

namespace mmusim::testbench {
namespace {

std::uint64_t parse_unsigned(const std::string& text) {
  const auto value = parse_u64(text);
  if (!value) throw std::invalid_argument(fmt::format("'{}' is not a non-negative integer", text));
  return *value;
}

bool parse_bool(const std::string& text) {
  if (text == "1" || text == "true" || text == "on") return true;
  if (text == "0" || text == "false" || text == "off") return false;
  throw std::invalid_argument(fmt::format("'{}' is not a boolean (0/1, true/false, on/off)", text));
}

// Binds a parameter to an unsigned integer field of SimConfig.
template <typename T, typename Field>
ParamInfo uint_param(std::string name, std::string unit, std::string description, std::string source,
                     Field field) {
  return {std::move(name), std::move(unit), std::move(description), std::move(source),
          [field](const SimConfig& c) { return std::to_string(field(const_cast<SimConfig&>(c))); },
          [field](SimConfig& c, const std::string& text) {
            const std::uint64_t v = parse_unsigned(text);
            if (v > std::numeric_limits<T>::max())
              throw std::invalid_argument(fmt::format("{} is out of range", v));
            field(c) = static_cast<T>(v);
          }};
}

template <typename Field>
ParamInfo bool_param(std::string name, std::string description, std::string source, Field field) {
  return {std::move(name), "bool", std::move(description), std::move(source),
          [field](const SimConfig& c) { return std::string(field(const_cast<SimConfig&>(c)) ? "1" : "0"); },
          [field](SimConfig& c, const std::string& text) { field(c) = parse_bool(text); }};
}

#define MMUSIM_FIELD(path) [](SimConfig& c) -> auto& { return c.path; }

std::vector<ParamInfo> build_table() {
  const std::string kX86 = "recent x86 server core (anchors.md B.1-B.3)";
  const std::string kCost = "first estimate toward a ~3,200-cycle minor fault (anchors.md B.2)";
  return {
      uint_param<unsigned>("cores", "cores", "number of simulated cores", "this slice schedules on cpu 0",
                           MMUSIM_FIELD(machine.cores)),
      uint_param<std::uint64_t>("mem.size_bytes", "bytes", "simulated physical memory", "1 GiB",
                                MMUSIM_FIELD(machine.memory.size_bytes)),
      uint_param<Cycles>("mem.read_cycles", "cycles", "latency of one 8-byte memory read (PTE fetch, load)",
                         "cached walk 20-50 cycles, ~30 per level (anchors.md B.3)",
                         MMUSIM_FIELD(machine.memory.read_cycles)),
      uint_param<Cycles>("mem.write_cycles", "cycles", "latency of one 8-byte memory write", "as mem.read_cycles",
                         MMUSIM_FIELD(machine.memory.write_cycles)),
      uint_param<std::uint64_t>("mem.copy_bytes_per_cycle", "bytes/cycle", "page copy bandwidth",
                                "~48 GB/s at 3 GHz", MMUSIM_FIELD(machine.memory.copy_bytes_per_cycle)),
      uint_param<std::uint64_t>("mem.zero_bytes_per_cycle", "bytes/cycle", "page zeroing bandwidth",
                                "~96 GB/s at 3 GHz (rep stosb)", MMUSIM_FIELD(machine.memory.zero_bytes_per_cycle)),
      uint_param<unsigned>("dtlb.entries", "entries", "L1 dTLB entries (4 KiB pages)", kX86,
                           MMUSIM_FIELD(machine.dtlb.entries)),
      uint_param<unsigned>("dtlb.ways", "ways", "L1 dTLB associativity (entries/ways sets, a power of two)", kX86,
                           MMUSIM_FIELD(machine.dtlb.ways)),
      uint_param<Cycles>("dtlb.hit_cycles", "cycles", "L1 dTLB lookup latency", kX86,
                         MMUSIM_FIELD(machine.dtlb.hit_cycles)),
      uint_param<Cycles>("walker.walk_start_cycles", "cycles", "fixed cost of starting a page walk", kX86,
                         MMUSIM_FIELD(machine.walker.walk_start_cycles)),
      uint_param<std::uint64_t>("core.clock_ps", "ps", "core clock period", "3 GHz",
                                MMUSIM_FIELD(machine.core.clock_ps)),
      uint_param<Cycles>("core.quantum_cycles", "cycles", "temporal-decoupling quantum", "TLM-2.0 LT practice",
                         MMUSIM_FIELD(machine.core.quantum_cycles)),
      uint_param<Cycles>("core.invlpg_cycles", "cycles", "INVLPG / INVPCID type 0",
                         "~100 ns (Linux arch/x86/mm/tlb.c, anchors.md B.1)", MMUSIM_FIELD(machine.core.invlpg_cycles)),
      uint_param<Cycles>("core.flush_pcid_cycles", "cycles", "INVPCID type 1 (one PCID's non-global entries)",
                         "as core.invlpg_cycles", MMUSIM_FIELD(machine.core.flush_pcid_cycles)),
      uint_param<Cycles>("core.cr3_write_cycles", "cycles", "MOV to CR3", kX86, MMUSIM_FIELD(machine.core.cr3_write_cycles)),
      uint_param<Cycles>("os.exception_entry_cycles", "cycles", "#PF delivery and entry stub", kCost,
                         MMUSIM_FIELD(kernel.costs.exception_entry_cycles)),
      uint_param<Cycles>("os.exception_exit_cycles", "cycles", "return from exception", kCost,
                         MMUSIM_FIELD(kernel.costs.exception_exit_cycles)),
      uint_param<Cycles>("os.syscall_entry_cycles", "cycles", "syscall entry", kCost,
                         MMUSIM_FIELD(kernel.costs.syscall_entry_cycles)),
      uint_param<Cycles>("os.syscall_exit_cycles", "cycles", "syscall exit", kCost,
                         MMUSIM_FIELD(kernel.costs.syscall_exit_cycles)),
      uint_param<Cycles>("os.vma_lookup_cycles", "cycles", "find_vma and access checks", kCost,
                         MMUSIM_FIELD(kernel.costs.vma_lookup_cycles)),
      uint_param<Cycles>("os.page_alloc_cycles", "cycles", "page allocation and memcg charge", kCost,
                         MMUSIM_FIELD(kernel.costs.page_alloc_cycles)),
      uint_param<Cycles>("os.page_free_cycles", "cycles", "page free and memcg uncharge", kCost,
                         MMUSIM_FIELD(kernel.costs.page_free_cycles)),
      uint_param<Cycles>("os.ptl_cycles", "cycles", "page-table lock acquire and release", kCost,
                         MMUSIM_FIELD(kernel.costs.ptl_cycles)),
      uint_param<Cycles>("os.rmap_cycles", "cycles", "anon rmap update, LRU add, counters", kCost,
                         MMUSIM_FIELD(kernel.costs.rmap_cycles)),
      uint_param<Cycles>("os.pte_copy_cycles", "cycles", "copy_present_pte per entry beyond memory traffic", kCost,
                         MMUSIM_FIELD(kernel.costs.pte_copy_cycles)),
      uint_param<Cycles>("os.vma_copy_cycles", "cycles", "dup_mmap per VMA", kCost,
                         MMUSIM_FIELD(kernel.costs.vma_copy_cycles)),
      uint_param<Cycles>("os.mm_create_cycles", "cycles", "mm and task creation (fork, exec)", kCost,
                         MMUSIM_FIELD(kernel.costs.mm_create_cycles)),
      uint_param<Cycles>("os.mmap_cycles", "cycles", "mmap_region", kCost, MMUSIM_FIELD(kernel.costs.mmap_cycles)),
      uint_param<Cycles>("os.context_switch_cycles", "cycles", "scheduler and switch_mm beyond the CR3 write", kCost,
                         MMUSIM_FIELD(kernel.costs.context_switch_cycles)),
      bool_param("mm.check_invariants", "check invariants I1, I6, I13 after every OS operation (CONFIG_DEBUG_VM)",
                 "on: correctness first", MMUSIM_FIELD(kernel.check_invariants)),
      bool_param("test.break_cow", "TEST ONLY: do_wp_page reuses possibly-shared pages (a deliberate missed COW)",
                 "off", MMUSIM_FIELD(kernel.test.break_cow)),
  };
}

#undef MMUSIM_FIELD

}  // namespace

const std::vector<ParamInfo>& param_table() {
  static const std::vector<ParamInfo> table = build_table();
  return table;
}

void apply_setting(SimConfig& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(fmt::format("--set '{}': expected key=value", assignment));
  const std::string key = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  for (const ParamInfo& p : param_table()) {
    if (p.name != key) continue;
    try {
      p.set(config, value);
    } catch (const std::invalid_argument& e) {
      throw ConfigError(fmt::format("--set {}: {}", key, e.what()));
    }
    return;
  }
  throw ConfigError(fmt::format("--set {}: unknown parameter (mmusim config lists them)", key));
}

void validate(const SimConfig& config) {
  if (std::string problem = config.machine.validate(); !problem.empty()) throw ConfigError(problem);
}

}  // namespace mmusim::testbench
