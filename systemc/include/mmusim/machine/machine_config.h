// Parameters of the machine, each with its unit in its name. Defaults model a recent x86 server
// core at 3 GHz (Intel Sapphire Rapids / Golden Cove class; sources in docs/parameters.md and
// `mmusim config`).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "mmusim/arch/types.h"

namespace mmusim::machine {

struct MemoryParams {
  std::uint64_t size_bytes = 1ull << 30;  // simulated physical memory (multiple of 4 KiB)
  Cycles read_cycles = 30;                // one 8-byte read (PTE fetch or load)
  Cycles write_cycles = 30;               // one 8-byte write
  std::uint64_t copy_bytes_per_cycle = 8;   // page copy bandwidth (cold source and destination)
  std::uint64_t zero_bytes_per_cycle = 8;   // page zeroing bandwidth (clear_page of a cold frame)
  // The OS's page-table loops (fork's copy, zap, mprotect) walk consecutive entries, eight to a
  // 64-byte line: an OS access to one of the last `os_recent_lines` lines its CPU touched costs
  // `cached_line_cycles` (an L1 hit) instead of read_cycles / write_cycles. 0 lines: never.
  Cycles cached_line_cycles = 5;
  unsigned os_recent_lines = 16;
};

// Victim selection of a set-associative structure.
enum class Replacement : std::uint8_t {
  kLru,     // true LRU
  kPlru,    // tree pseudo-LRU (ways a power of two)
  kRandom,  // seeded pseudo-random (MachineConfig::seed and the structure's name)
};
const char* replacement_name(Replacement r);  // "lru", "plru", "random"

// Page sizes, as a bit mask of which sizes an array holds.
enum PageSizeBit : unsigned { kPage4K = 1u, kPage2M = 2u, kPage1G = 4u };

// One array of a TLB structure: real cores keep separate arrays per page size (or a shared one
// for 4 KiB + 2 MiB). entries == 0: the array is absent.
struct TlbArrayParams {
  unsigned entries = 0;
  unsigned ways = 1;          // 1 = direct-mapped; ways == entries = fully associative
  unsigned page_sizes = kPage4K;  // PageSizeBit mask; nonzero when entries != 0
};

// A TLB structure (L1 iTLB, L1 dTLB or the unified L2 STLB): up to three arrays, looked up in
// parallel; one replacement policy and one hit latency for the structure.
struct TlbParams {
  static constexpr unsigned kArrays = 3;
  std::array<TlbArrayParams, kArrays> arrays{};
  Replacement replacement = Replacement::kLru;
  Cycles hit_cycles = 1;  // lookup latency (hit or miss detection)
};

// One paging-structure cache (SDM vol. 3A §4.10.3): caches PML4Es, PDPTEs or PDEs that point to
// a table, tagged by PCID. entries == 0 disables it.
struct PwcParams {
  unsigned entries = 0;
  unsigned ways = 1;
  Cycles hit_cycles = 1;
};

struct WalkerParams {
  Cycles walk_start_cycles = 5;  // fixed cost of starting a walk, before the PTE reads
  // Page walkers per core: walks that may be in flight at once (miss_window.h). 1 makes every
  // walk block the core, as a single walker does. Golden Cove: 4 (Skylake: 2).
  unsigned max_walks = 4;
  PwcParams pml4e_cache;         // caches PML4Es (skip 1 read)
  PwcParams pdpte_cache;         // caches PDPTEs (skip 2 reads)
  PwcParams pde_cache;           // caches PDEs (skip 3 reads)
};

struct StoreBufferParams {
  unsigned entries = 56;         // store-buffer depth (Golden Cove: 114; Skylake: 56)
  Cycles drain_cycles = 4;       // cycles between two stores leaving the buffer (drain rate)
  Cycles forward_cycles = 5;     // store-to-load forwarding latency
};

struct CoreParams {
  std::uint64_t clock_ps = 333;        // core clock period (333 ps = 3 GHz)
  Cycles quantum_cycles = 10000;       // temporal-decoupling quantum
  Cycles invlpg_cycles = 300;          // INVLPG / INVPCID type 0 (~100 ns, anchors.md B.1)
  Cycles flush_pcid_cycles = 300;      // INVPCID type 1
  Cycles flush_all_cycles = 600;       // INVPCID types 2 and 3
  Cycles cr3_write_cycles = 200;       // MOV to CR3
  Cycles fence_cycles = 30;            // MFENCE / locked operation, beyond draining the buffer
  // Younger operations the core may issue while the oldest overlapped walk (miss_window.h) has
  // not completed: a stand-in for the reorder buffer (Golden Cove: 512 entries).
  unsigned miss_window_ops = 512;
  // Consecutive #PFs on one access after which the core stops the run with an error: a handler
  // that answers kRetry without fixing the cause would otherwise loop forever.
  unsigned max_fault_retries = 64;
};

// How the OS's remote TLB invalidations travel.
enum class ShootdownMechanism : std::uint8_t {
  kIpi,      // x86 Linux: an IPI to each target, flush in the handler, ack; initiator waits
  kInvlpgb,  // AMD INVLPGB + TLBSYNC (Arm TLBI ...IS): hardware broadcast, no interrupt
};
const char* shootdown_mechanism_name(ShootdownMechanism m);  // "ipi", "invlpgb"

struct InterconnectParams {
  ShootdownMechanism mechanism = ShootdownMechanism::kIpi;
  // Calibrated (docs/calibration.md) to anchors.md B.1: one remote target ~1.2 us, ~200 ns more
  // per further target (about 1 us + 200 ns per receiver; 64 cores ~14 us).
  Cycles ipi_send_cycles = 600;           // initiator: flush_tlb_info setup + ICR write, per target
  Cycles ipi_delivery_cycles = 900;       // wire: from send to the target's interrupt
  Cycles ipi_handler_entry_cycles = 900;  // target: interrupt entry (drains its store buffer)
  Cycles ipi_handler_exit_cycles = 300;   // target: iret
  Cycles ipi_ack_cycles = 600;            // target's ack line moving back to the polling initiator
  Cycles invlpgb_issue_cycles = 100;      // initiator: one INVLPGB (one VA or one PCID)
  Cycles invlpgb_per_target_cycles = 50;  // broadcast fabric: per target core
  Cycles tlbsync_cycles = 500;            // initiator: TLBSYNC wait for completion
};

// Physical-address width the walker implements (CPUID.80000008H:EAX[7:0]); PTE bits
// [51:kModelMaxPhysAddrBits] are reserved and fault with RSVD. Memory may not exceed it.
inline constexpr unsigned kModelMaxPhysAddrBits = 46;
inline constexpr unsigned kMaxCores = 64;

struct MachineConfig {
  MachineConfig();  // the x86-server defaults (TLB arrays and paging-structure caches)
  unsigned cores = 1;
  unsigned clock_mhz = 3000;  // core clock: turns cycles into time in reports and calibration
  std::uint64_t seed = 1;  // random replacement and anything else random in the machine
  MemoryParams memory;
  TlbParams itlb;
  TlbParams dtlb;
  TlbParams stlb;
  WalkerParams walker;
  StoreBufferParams store_buffer;
  CoreParams core;
  InterconnectParams interconnect;
  // Empty if valid; otherwise the first problem found, naming the parameter.
  std::string validate() const;
};

}  // namespace mmusim::machine
