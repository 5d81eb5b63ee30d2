// Parameters of the machine, each with its unit in its name. Defaults model a recent x86 server
// core at 3 GHz (sources in docs/parameters.md).
#pragma once

#include <cstdint>
#include <string>

#include "mmusim/arch/types.h"

namespace mmusim::machine {

struct MemoryParams {
  std::uint64_t size_bytes = 1ull << 30;  // simulated physical memory (multiple of 4 KiB)
  Cycles read_cycles = 30;                // one 8-byte read (PTE fetch or load)
  Cycles write_cycles = 30;               // one 8-byte write
  std::uint64_t copy_bytes_per_cycle = 16;  // page copy bandwidth
  std::uint64_t zero_bytes_per_cycle = 32;  // page zeroing bandwidth
};

struct TlbParams {
  unsigned entries = 64;  // total entries
  unsigned ways = 4;      // associativity; entries / ways sets (a power of two)
  Cycles hit_cycles = 1;  // lookup latency (hit or miss detection)
};

struct WalkerParams {
  Cycles walk_start_cycles = 5;  // fixed cost of starting a walk, before the PTE reads
};

struct CoreParams {
  std::uint64_t clock_ps = 333;        // core clock period (333 ps = 3 GHz)
  Cycles quantum_cycles = 10000;       // temporal-decoupling quantum
  Cycles invlpg_cycles = 300;          // INVLPG / INVPCID type 0 (~100 ns, anchors.md B.1)
  Cycles flush_pcid_cycles = 300;      // INVPCID type 1
  Cycles cr3_write_cycles = 200;       // MOV to CR3
  // Consecutive #PFs on one access after which the core stops the run with an error: a handler
  // that answers kRetry without fixing the cause would otherwise loop forever.
  unsigned max_fault_retries = 64;
};

// Physical-address width the walker implements (CPUID.80000008H:EAX[7:0]); PTE bits
// [51:kModelMaxPhysAddrBits] are reserved and fault with RSVD. Memory may not exceed it.
inline constexpr unsigned kModelMaxPhysAddrBits = 46;
inline constexpr unsigned kMaxCores = 64;

struct MachineConfig {
  unsigned cores = 1;
  MemoryParams memory;
  TlbParams dtlb;
  WalkerParams walker;
  CoreParams core;
  // Empty if valid; otherwise the first problem found, naming the parameter.
  std::string validate() const;
};

}  // namespace mmusim::machine
