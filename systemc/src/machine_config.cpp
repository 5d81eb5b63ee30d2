#include <string>

#include "mmusim/machine/machine_config.h"

namespace mmusim::machine {
namespace {

std::string check_tlb(const char* name, const TlbParams& t) {
  const std::string n(name);
  if (t.entries == 0) return n + ".entries must be nonzero";
  if (t.ways == 0) return n + ".ways must be nonzero";
  if (t.entries % t.ways != 0)
    return n + ".ways=" + std::to_string(t.ways) + " does not divide " + n +
           ".entries=" + std::to_string(t.entries);
  const unsigned sets = t.entries / t.ways;
  if ((sets & (sets - 1)) != 0)
    return n + ".entries/" + n + ".ways=" + std::to_string(sets) +
           " sets is not a power of two (the set index is VPN bits)";
  return {};
}

}  // namespace

std::string MachineConfig::validate() const {
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
  if (std::string e = check_tlb("dtlb", dtlb); !e.empty()) return e;
  if (core.clock_ps == 0) return "core.clock_ps must be nonzero";
  if (core.quantum_cycles == 0) return "core.quantum_cycles must be nonzero";
  if (core.max_fault_retries == 0) return "core.max_fault_retries must be nonzero";
  return {};
}

}  // namespace mmusim::machine
