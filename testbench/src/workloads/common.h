// Helpers the workload families share: simulated memory sizing, fault-kind watching, the cells
// of a fault row.
#pragma once

#include <fmt/format.h>

#include <string>
#include <vector>

#include "mmusim/mm/kernel.h"
#include "mmusim/testbench/workload.h"

namespace mmusim::testbench::wl {

inline std::uint64_t pages_of(std::uint64_t bytes) { return bytes / kPageSize; }

// Frames for `pages` resident user pages, their page tables (one PTE table per 512 pages, the
// upper levels, for `processes` address spaces), the zero page and slack for the OS's own
// allocations; rounded up to 2 MiB.
inline std::uint64_t memory_for(std::uint64_t pages, unsigned processes) {
  const std::uint64_t tables = (pages / 512 + 8) * processes + 64;
  const std::uint64_t bytes = (pages + tables + 1024) * kPageSize;
  constexpr std::uint64_t k2M = 2ull << 20;
  return (bytes + k2M - 1) / k2M * k2M;
}

// The thread names of a process P: "P" for thread 0, "P.tN" after.
inline std::string actor_name(const std::string& proc, unsigned t) {
  return t == 0 ? proc : fmt::format("{}.t{}", proc, t);
}

// mm.faults.KIND for every kind (they count GUP's unshare faults too, which never reach the
// exception vector), and the latency probes.
inline std::vector<std::string> fault_watch() {
  std::vector<std::string> w = {"tb.faults.latency", "tb.syscalls.pin"};
  for (std::size_t k = 0; k < mm::kFaultKindCount; ++k)
    w.push_back(fmt::format("mm.faults.{}", mm::fault_kind_name(static_cast<mm::FaultKind>(k))));
  return w;
}

inline std::vector<WorkloadColumn> fault_columns() {
  return {{"step", ""},   {"cpu", ""},       {"pages", "pages"},         {"faults", "count"},
          {"kind", ""},   {"latency", "cycles"}, {"step_cycles", "cycles"}, {"per_page", "cycles"}};
}

// One table row over the steps [first, last]: the faults they took, the kind most of them were,
// the mean latency of those faults (latency_stat: tb.faults.latency, or tb.syscalls.pin for the
// faults GUP takes inside a pin), the steps' cycles and the cycles per page.
inline RowMaker fault_row(std::string label, unsigned cpu, std::uint64_t pages, std::size_t first, std::size_t last,
                          std::string latency_stat = "tb.faults.latency") {
  return [=](const RunView& v) {
    double faults = 0, best = 0, lat_sum = 0, lat_n = 0;
    Cycles cycles = 0;
    std::string kind = "-";
    for (std::size_t k = 0; k < mm::kFaultKindCount; ++k) {
      const char* name = mm::fault_kind_name(static_cast<mm::FaultKind>(k));
      double n = 0;
      for (std::size_t s = first; s <= last; ++s) n += v.count(s, fmt::format("mm.faults.{}", name));
      faults += n;
      if (n > best) {
        best = n;
        kind = name;
      }
    }
    for (std::size_t s = first; s <= last; ++s) {
      cycles += v.cycles(s);
      lat_sum += v.sum(s, latency_stat);
      lat_n += v.count(s, latency_stat);
    }
    const double per_page = pages ? static_cast<double>(cycles) / static_cast<double>(pages) : 0.0;
    return std::vector<Cell>{label, cpu, pages, static_cast<std::uint64_t>(faults), kind,
                             lat_n > 0 ? lat_sum / lat_n : 0.0, cycles, per_page};
  };
}

}  // namespace mmusim::testbench::wl
