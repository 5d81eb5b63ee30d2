// The simulation-speed benchmark's cases: an access stream run on the SystemC machine, and the
// baseline it is compared with (the same number of page-number lookups in a std::unordered_map,
// in a plain loop, in the same process).
#pragma once

#include <cstdint>

namespace mmusim::bench {

enum class Stream {
  kL1Hit,    // loads (3/4) and stores (1/4) at random offsets in 4 pages per core: dTLB hits
  kTlbMiss,  // loads at uniformly random pages of 4 GiB of mapped virtual memory: TLB misses
};
const char* stream_name(Stream s);

// 4 GiB of virtual memory in 4 KiB pages, mapped onto kMissFrames physical frames
// (frame = vpn mod kMissFrames) so that host memory stays bounded.
inline constexpr std::uint64_t kMissPages = 1ull << 20;
inline constexpr std::uint64_t kMissFrames = 4096;

struct CaseSpec {
  Stream stream = Stream::kL1Hit;
  unsigned cores = 1;
  std::uint64_t accesses = 0;  // in total, split evenly over the cores
  bool dump_stats = false;     // print every statistic of the run to stdout (from the child)
};

struct CaseResult {
  std::uint64_t accesses = 0;        // loads and stores the cores completed
  double host_seconds = 0;           // Machine::run(), wall clock
  double host_cpu_seconds = 0;       // Machine::run(), CPU time of the (one-thread) process
  std::uint64_t baseline_lookups = 0;
  double baseline_seconds = 0;
  double baseline_cpu_seconds = 0;
  std::uint64_t baseline_checksum = 0;  // sum of the frames found
  std::uint64_t simulated_cycles = 0;  // the slowest core's local time at its end
  double dtlb_hit_ratio = 0;           // over every core
  double walks_per_access = 0;
};

// Builds the machine (one per process: SystemC elaborates once), runs the stream, then the
// baseline. Throws on a model error.
CaseResult run_case(const CaseSpec& spec);

}  // namespace mmusim::bench
