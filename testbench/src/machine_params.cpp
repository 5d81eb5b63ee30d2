// The machine's parameters (systemc/include/mmusim/machine/machine_config.h) by name, with unit,
// description and the source of each default.
#include "param_tables.h"

#include "param_binders.h"

namespace mmusim::testbench {
namespace {

using namespace params_detail;
using machine::PwcParams;
using machine::TlbArrayParams;
using machine::TlbParams;

const char* const kX86 = "Golden Cove / Sapphire Rapids class server core (docs/parameters.md)";
const char* const kTlbSource =
    "Intel optimization manual TLB table, Golden Cove (docs/parameters.md)";
const char* const kShootdown =
    "calibrated: ~1.2 us to one remote core, +~200 ns per further target (anchors.md B.1; docs/calibration.md)";

std::string page_sizes_text(unsigned mask) {
  std::string out;
  for (const auto& [bit, name] : {std::pair{machine::kPage4K, "4k"}, {machine::kPage2M, "2m"},
                                  {machine::kPage1G, "1g"}})
    if (mask & bit) out += (out.empty() ? "" : "+") + std::string(name);
  return out.empty() ? "none" : out;
}

unsigned parse_page_sizes(const std::string& text) {
  unsigned mask = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t plus = text.find('+', pos);
    const std::string part = text.substr(pos, plus == std::string::npos ? std::string::npos : plus - pos);
    if (part == "4k") mask |= machine::kPage4K;
    else if (part == "2m") mask |= machine::kPage2M;
    else if (part == "1g") mask |= machine::kPage1G;
    else
      throw std::invalid_argument(
          fmt::format("'{}' is not a page-size list: 4k, 2m, 1g joined by '+' (e.g. 4k+2m)", text));
    if (plus == std::string::npos) break;
    pos = plus + 1;
  }
  return mask;
}

// The parameters of one TLB structure: <name>.replacement, <name>.hit_cycles and
// <name>.array<i>.{entries,ways,page_sizes}.
void add_tlb(std::vector<ParamInfo>& t, const std::string& name, const std::string& what,
             TlbParams machine::MachineConfig::*member) {
  t.push_back(enum_param<machine::Replacement>(
      name + ".replacement", what + " victim selection (random is seeded by 'seed')", kTlbSource,
      {{"lru", machine::Replacement::kLru}, {"plru", machine::Replacement::kPlru},
       {"random", machine::Replacement::kRandom}},
      [member](SimConfig& c) -> auto& { return (c.machine.*member).replacement; }));
  t.push_back(uint_param<Cycles>(name + ".hit_cycles", "cycles", what + " lookup latency (hit or miss detection)",
                                 kTlbSource,
                                 [member](SimConfig& c) -> auto& { return (c.machine.*member).hit_cycles; }));
  for (unsigned i = 0; i < TlbParams::kArrays; ++i) {
    const std::string a = name + ".array" + std::to_string(i);
    auto arr = [member, i](SimConfig& c) -> TlbArrayParams& { return (c.machine.*member).arrays[i]; };
    t.push_back(uint_param<unsigned>(a + ".entries", "entries", what + " array " + std::to_string(i) +
                                         " entries (0: the array is absent)",
                                     kTlbSource, [arr](SimConfig& c) -> auto& { return arr(c).entries; }));
    t.push_back(uint_param<unsigned>(a + ".ways", "ways",
                                     "associativity (1 direct-mapped, = entries fully associative; "
                                     "entries/ways sets, a power of two)",
                                     kTlbSource, [arr](SimConfig& c) -> auto& { return arr(c).ways; }));
    t.push_back({a + ".page_sizes", "4k|2m|1g", "page sizes the array holds, joined by '+'", kTlbSource,
                 [arr](const SimConfig& c) { return page_sizes_text(arr(const_cast<SimConfig&>(c)).page_sizes); },
                 [arr](SimConfig& c, const std::string& text) { arr(c).page_sizes = parse_page_sizes(text); }});
  }
}

void add_pwc(std::vector<ParamInfo>& t, const std::string& name, const std::string& what,
             PwcParams machine::WalkerParams::*member) {
  auto pwc = [member](SimConfig& c) -> PwcParams& { return c.machine.walker.*member; };
  const std::string src = "Intel SDM vol. 3A §4.10.3; sizes as measured for Skylake-class cores";
  t.push_back(uint_param<unsigned>(name + ".entries", "entries", what + " entries (0 disables the cache)", src,
                                   [pwc](SimConfig& c) -> auto& { return pwc(c).entries; }));
  t.push_back(uint_param<unsigned>(name + ".ways", "ways", what + " associativity", src,
                                   [pwc](SimConfig& c) -> auto& { return pwc(c).ways; }));
  t.push_back(uint_param<Cycles>(name + ".hit_cycles", "cycles", what + " lookup latency", src,
                                 [pwc](SimConfig& c) -> auto& { return pwc(c).hit_cycles; }));
}

}  // namespace

void add_machine_params(std::vector<ParamInfo>& t) {
  t.push_back(uint_param<unsigned>("cores", "cores", "number of simulated cores (1..64)", "one core; scenarios raise it",
                                   MMUSIM_FIELD(machine.cores)));
  t.push_back(uint_param<unsigned>("clock_mhz", "MHz", "core clock: converts cycles to time (calibration, reports)",
                                   "3000: the x86-server profile", MMUSIM_FIELD(machine.clock_mhz)));
  t.push_back(uint_param<std::uint64_t>("seed", "seed", "seed of everything random in the run (random replacement)",
                                        "1", MMUSIM_FIELD(machine.seed)));
  t.push_back(uint_param<std::uint64_t>("memory.size_bytes", "bytes", "simulated physical memory", "1 GiB",
                                        MMUSIM_FIELD(machine.memory.size_bytes)));
  t.push_back(uint_param<Cycles>("memory.read_cycles", "cycles", "latency of one 8-byte memory read (PTE fetch, load)",
                                 "cached walk 20-50 cycles, ~30 per level (anchors.md B.3)",
                                 MMUSIM_FIELD(machine.memory.read_cycles)));
  t.push_back(uint_param<Cycles>("memory.write_cycles", "cycles", "latency of one 8-byte memory write",
                                 "as memory.read_cycles", MMUSIM_FIELD(machine.memory.write_cycles)));
  t.push_back(uint_param<std::uint64_t>("memory.copy_bytes_per_cycle", "bytes/cycle",
                                        "page copy bandwidth (copy_page of a cold page)",
                                        "~24 GB/s at 3 GHz; calibrated: COW fault = minor fault + copy (anchors.md B.2)",
                                        MMUSIM_FIELD(machine.memory.copy_bytes_per_cycle)));
  t.push_back(uint_param<std::uint64_t>("memory.zero_bytes_per_cycle", "bytes/cycle",
                                        "page zeroing bandwidth (clear_page of a cold frame)",
                                        "~24 GB/s at 3 GHz; calibrated to the ~1 us minor fault (anchors.md B.2)",
                                        MMUSIM_FIELD(machine.memory.zero_bytes_per_cycle)));
  t.push_back(uint_param<Cycles>("memory.cached_line_cycles", "cycles",
                                 "an OS page-table access to a line its CPU touched recently (L1 hit)",
                                 "5: Golden Cove L1D load-to-use", MMUSIM_FIELD(machine.memory.cached_line_cycles)));
  t.push_back(uint_param<unsigned>("memory.os_recent_lines", "lines",
                                   "recent 64-byte lines per CPU whose OS accesses cost memory.cached_line_cycles "
                                   "(0: every OS access costs read/write_cycles)",
                                   "16; calibrated: fork ~4 ms/GiB (anchors.md B.4)",
                                   MMUSIM_FIELD(machine.memory.os_recent_lines)));
  add_tlb(t, "itlb", "L1 instruction TLB", &machine::MachineConfig::itlb);
  add_tlb(t, "dtlb", "L1 data TLB", &machine::MachineConfig::dtlb);
  add_tlb(t, "stlb", "unified L2 TLB (STLB)", &machine::MachineConfig::stlb);
  t.push_back(uint_param<Cycles>("walker.walk_start_cycles", "cycles", "fixed cost of starting a page walk", kX86,
                                 MMUSIM_FIELD(machine.walker.walk_start_cycles)));
  t.push_back(uint_param<unsigned>("walker.max_walks", "walks",
                                   "page walkers per core: walks in flight at once (1: every walk blocks the core)",
                                   "Golden Cove: 4 page walkers (Intel Architecture Day 2021; Skylake: 2)",
                                   MMUSIM_FIELD(machine.walker.max_walks)));
  add_pwc(t, "walker.pml4e_cache", "paging-structure cache of PML4Es", &machine::WalkerParams::pml4e_cache);
  add_pwc(t, "walker.pdpte_cache", "paging-structure cache of PDPTEs", &machine::WalkerParams::pdpte_cache);
  add_pwc(t, "walker.pde_cache", "paging-structure cache of PDEs", &machine::WalkerParams::pde_cache);
  t.push_back(uint_param<unsigned>("store_buffer.entries", "entries", "store-buffer depth",
                                   "Skylake 56 (Golden Cove 114)", MMUSIM_FIELD(machine.store_buffer.entries)));
  t.push_back(uint_param<Cycles>("store_buffer.drain_cycles", "cycles", "cycles between two stores leaving the buffer",
                                 "one L1 store per cycle, ~4 with misses (estimate)",
                                 MMUSIM_FIELD(machine.store_buffer.drain_cycles)));
  t.push_back(uint_param<Cycles>("store_buffer.forward_cycles", "cycles", "store-to-load forwarding latency",
                                 "~5 cycles (Agner Fog, microarchitecture guide)",
                                 MMUSIM_FIELD(machine.store_buffer.forward_cycles)));
  t.push_back(uint_param<std::uint64_t>("core.clock_ps", "ps", "core clock period", "3 GHz",
                                        MMUSIM_FIELD(machine.core.clock_ps)));
  t.push_back(uint_param<Cycles>("core.quantum_cycles", "cycles", "temporal-decoupling quantum (cores sync at IPIs)",
                                 "TLM-2.0 LT practice", MMUSIM_FIELD(machine.core.quantum_cycles)));
  t.push_back(uint_param<Cycles>("core.invlpg_cycles", "cycles", "INVLPG / INVPCID type 0",
                                 "~100 ns (Linux arch/x86/mm/tlb.c, anchors.md B.1)",
                                 MMUSIM_FIELD(machine.core.invlpg_cycles)));
  t.push_back(uint_param<Cycles>("core.flush_pcid_cycles", "cycles", "INVPCID type 1 (one PCID's non-global entries)",
                                 "as core.invlpg_cycles", MMUSIM_FIELD(machine.core.flush_pcid_cycles)));
  t.push_back(uint_param<Cycles>("core.flush_all_cycles", "cycles", "INVPCID types 2 and 3", kX86,
                                 MMUSIM_FIELD(machine.core.flush_all_cycles)));
  t.push_back(uint_param<Cycles>("core.cr3_write_cycles", "cycles", "MOV to CR3", kX86,
                                 MMUSIM_FIELD(machine.core.cr3_write_cycles)));
  t.push_back(uint_param<Cycles>("core.fence_cycles", "cycles", "MFENCE or locked operation beyond draining the buffer",
                                 kX86, MMUSIM_FIELD(machine.core.fence_cycles)));
  t.push_back(uint_param<unsigned>("core.miss_window_ops", "ops",
                                   "operations the core may issue while an overlapped page walk is outstanding "
                                   "(a reorder-buffer stand-in)",
                                   "Golden Cove 512-entry reorder buffer (Intel Architecture Day 2021)",
                                   MMUSIM_FIELD(machine.core.miss_window_ops)));
  t.push_back(uint_param<unsigned>("core.max_fault_retries", "faults",
                                   "consecutive #PFs on one access before the run stops with an error",
                                   "a livelock guard", MMUSIM_FIELD(machine.core.max_fault_retries)));
  t.push_back(enum_param<machine::ShootdownMechanism>(
      "interconnect.mechanism", "how remote TLB invalidations travel: IPIs (x86 Linux) or INVLPGB+TLBSYNC",
      "ipi, as Linux on x86 before INVLPGB support",
      {{"ipi", machine::ShootdownMechanism::kIpi}, {"invlpgb", machine::ShootdownMechanism::kInvlpgb}},
      MMUSIM_FIELD(machine.interconnect.mechanism)));
  t.push_back(uint_param<Cycles>("interconnect.ipi_send_cycles", "cycles", "initiator: send one IPI (ICR write)",
                                 kShootdown, MMUSIM_FIELD(machine.interconnect.ipi_send_cycles)));
  t.push_back(uint_param<Cycles>("interconnect.ipi_delivery_cycles", "cycles", "from send to the target's interrupt",
                                 kShootdown, MMUSIM_FIELD(machine.interconnect.ipi_delivery_cycles)));
  t.push_back(uint_param<Cycles>("interconnect.ipi_handler_entry_cycles", "cycles",
                                 "target: interrupt entry (drains its store buffer)", kShootdown,
                                 MMUSIM_FIELD(machine.interconnect.ipi_handler_entry_cycles)));
  t.push_back(uint_param<Cycles>("interconnect.ipi_handler_exit_cycles", "cycles", "target: return from interrupt",
                                 kShootdown, MMUSIM_FIELD(machine.interconnect.ipi_handler_exit_cycles)));
  t.push_back(uint_param<Cycles>("interconnect.ipi_ack_cycles", "cycles",
                                 "target's acknowledgement reaching the initiator", kShootdown,
                                 MMUSIM_FIELD(machine.interconnect.ipi_ack_cycles)));
  t.push_back(uint_param<Cycles>("interconnect.invlpgb_issue_cycles", "cycles",
                                 "initiator: one INVLPGB (one page, or one whole PCID)",
                                 "AMD APM vol. 3 INVLPGB; Linux 6.x INVLPGB series measurements (estimate)",
                                 MMUSIM_FIELD(machine.interconnect.invlpgb_issue_cycles)));
  t.push_back(uint_param<Cycles>("interconnect.invlpgb_per_target_cycles", "cycles",
                                 "broadcast fabric delay per target core", "estimate",
                                 MMUSIM_FIELD(machine.interconnect.invlpgb_per_target_cycles)));
  t.push_back(uint_param<Cycles>("interconnect.tlbsync_cycles", "cycles", "initiator: TLBSYNC",
                                 "estimate", MMUSIM_FIELD(machine.interconnect.tlbsync_cycles)));
}

}  // namespace mmusim::testbench
