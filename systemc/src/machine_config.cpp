#include "mmusim/machine/machine_config.h"

#include <string>

namespace mmusim::machine {
namespace {

bool power_of_two(unsigned v) { return v != 0 && (v & (v - 1)) == 0; }

std::string check_array(const std::string& n, const TlbArrayParams& a, Replacement r) {
  if (a.entries == 0) return {};  // absent
  if (a.ways == 0) return n + ".ways must be nonzero";
  if (a.entries % a.ways != 0)
    return n + ".ways=" + std::to_string(a.ways) + " does not divide " + n + ".entries=" +
           std::to_string(a.entries);
  const unsigned sets = a.entries / a.ways;
  if (!power_of_two(sets))
    return n + ".entries/" + n + ".ways=" + std::to_string(sets) +
           " sets is not a power of two (the set index is VPN bits)";
  if (r == Replacement::kPlru && !power_of_two(a.ways))
    return n + ".ways=" + std::to_string(a.ways) + " is not a power of two, which tree-PLRU needs";
  if (a.page_sizes == 0 || (a.page_sizes & ~unsigned{kPage4K | kPage2M | kPage1G}) != 0)
    return n + ".page_sizes must name at least one of 4k, 2m, 1g";
  return {};
}

std::string check_tlb(const std::string& n, const TlbParams& t) {
  unsigned present = 0;
  unsigned sizes = 0;  // page sizes held by the arrays so far
  for (unsigned i = 0; i < TlbParams::kArrays; ++i) {
    const std::string an = n + ".array" + std::to_string(i);
    if (std::string e = check_array(an, t.arrays[i], t.replacement); !e.empty()) return e;
    if (t.arrays[i].entries == 0) continue;
    ++present;
    // A translation is filled into the one array that holds its size.
    if (sizes & t.arrays[i].page_sizes) return an + ".page_sizes names a page size an earlier array holds";
    sizes |= t.arrays[i].page_sizes;
  }
  if (present == 0) return n + " has no array with nonzero entries";
  return {};
}

std::string check_pwc(const std::string& n, const PwcParams& p) {
  if (p.entries == 0) return {};  // disabled
  if (p.ways == 0) return n + ".ways must be nonzero";
  if (p.entries % p.ways != 0)
    return n + ".ways=" + std::to_string(p.ways) + " does not divide " + n + ".entries=" +
           std::to_string(p.entries);
  if (!power_of_two(p.entries / p.ways))
    return n + ".entries/" + n + ".ways is not a power of two";
  return {};
}

}  // namespace

const char* replacement_name(Replacement r) {
  switch (r) {
    case Replacement::kLru: return "lru";
    case Replacement::kPlru: return "plru";
    case Replacement::kRandom: return "random";
  }
  return "?";
}

const char* shootdown_mechanism_name(ShootdownMechanism m) {
  return m == ShootdownMechanism::kIpi ? "ipi" : "invlpgb";
}

// Golden Cove (Sapphire Rapids) class: Intel optimization manual, table "TLB parameters", and
// the Chips and Cheese measurements cited in docs/parameters.md.
MachineConfig::MachineConfig() {
  itlb.arrays[0] = {256, 8, kPage4K};
  itlb.arrays[1] = {32, 32, kPage2M};
  itlb.hit_cycles = 1;
  dtlb.arrays[0] = {64, 4, kPage4K};
  dtlb.arrays[1] = {32, 4, kPage2M};
  dtlb.arrays[2] = {8, 8, kPage1G};
  dtlb.hit_cycles = 1;
  stlb.arrays[0] = {2048, 16, kPage4K | kPage2M};
  stlb.arrays[1] = {1024, 8, kPage1G};
  stlb.hit_cycles = 8;
  walker.pml4e_cache = {4, 4, 1};
  walker.pdpte_cache = {4, 4, 1};
  walker.pde_cache = {32, 4, 1};
}

std::string MachineConfig::validate() const {
  if (clock_mhz == 0) return "clock_mhz must be nonzero";
  if (cores < 1 || cores > kMaxCores)
    return "cores=" + std::to_string(cores) + " is outside 1.." + std::to_string(kMaxCores);
  if (memory.size_bytes == 0 || memory.size_bytes % kPageSize != 0)
    return "memory.size_bytes=" + std::to_string(memory.size_bytes) +
           " is not a nonzero multiple of 4096";
  if (memory.size_bytes > (1ull << kModelMaxPhysAddrBits))
    return "memory.size_bytes=" + std::to_string(memory.size_bytes) + " exceeds 2^" +
           std::to_string(kModelMaxPhysAddrBits) + " (the walker's MAXPHYADDR)";
  if (memory.copy_bytes_per_cycle == 0) return "memory.copy_bytes_per_cycle must be nonzero";
  if (memory.zero_bytes_per_cycle == 0) return "memory.zero_bytes_per_cycle must be nonzero";
  if (std::string e = check_tlb("itlb", itlb); !e.empty()) return e;
  if (std::string e = check_tlb("dtlb", dtlb); !e.empty()) return e;
  if (std::string e = check_tlb("stlb", stlb); !e.empty()) return e;
  if (walker.max_walks == 0)
    return "walker.max_walks must be at least 1 (the number of page walkers per core)";
  if (std::string e = check_pwc("walker.pml4e_cache", walker.pml4e_cache); !e.empty()) return e;
  if (std::string e = check_pwc("walker.pdpte_cache", walker.pdpte_cache); !e.empty()) return e;
  if (std::string e = check_pwc("walker.pde_cache", walker.pde_cache); !e.empty()) return e;
  if (store_buffer.entries == 0) return "store_buffer.entries must be nonzero";
  if (store_buffer.drain_cycles == 0) return "store_buffer.drain_cycles must be nonzero";
  if (core.clock_ps == 0) return "core.clock_ps must be nonzero";
  if (core.quantum_cycles == 0) return "core.quantum_cycles must be nonzero";
  if (core.miss_window_ops == 0)
    return "core.miss_window_ops must be at least 1 (operations the core may issue under an "
           "outstanding walk)";
  if (core.max_fault_retries == 0) return "core.max_fault_retries must be nonzero";
  return {};
}

}  // namespace mmusim::machine
