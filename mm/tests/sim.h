// One mm test bench: a FakePort of `frames` frames, a statistics root, the Kernel and a SwCpu.
#pragma once

#include <algorithm>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fake_port.h"
#include "mmusim/mm/kernel.h"
#include "mmusim/stats/stats.h"
#include "sw_cpu.h"

namespace mmusim::mm {
// gtest prints fault kinds by name.
inline void PrintTo(FaultKind kind, std::ostream* os) { *os << fault_kind_name(kind); }
}  // namespace mmusim::mm

namespace mmusim::mm::testing {

// A swap-format entry: not none, not present, not PROT_NONE (bit 8).
inline bool is_swap(x86::PteVal e) { return e != 0 && !(e & x86::kPresent) && !(e & x86::kGlobal); }

struct Sim {
  explicit Sim(std::uint64_t frames = 1024, KernelConfig config = {})
      : port(frames), kernel(port, config, root), cpu(port, kernel) {}

  // An "mm.<path>" statistic's value.
  double stat(const std::string& path) const {
    const stats::Stat* s = root.find("mm." + path);
    if (!s) throw std::out_of_range("no statistic mm." + path);
    return s->value_as_double();
  }
  Pfn pfn_of(Pid pid, VirtAddr va) const { return x86::pte_pfn(kernel.lookup_pte(pid, va).value()); }
  PageInfo page_of(Pid pid, VirtAddr va) const { return kernel.page_info(pfn_of(pid, va)).value(); }
  // A new process running on CPU 0 with one page-aligned R/W anonymous mapping of `pages`.
  std::pair<Pid, VirtAddr> process_with_area(std::uint64_t pages = 1, CpuId on = 0) {
    const Pid pid = kernel.create_process(on);
    kernel.switch_to(on, pid);
    const long addr = kernel.mmap(on, pid, 0, pages * kPageSize, kProtRead | kProtWrite, false);
    return {pid, static_cast<VirtAddr>(addr)};
  }

  x86::PteVal pte(Pid pid, VirtAddr va) const { return kernel.lookup_pte(pid, va).value_or(0); }
  bool writable(Pid pid, VirtAddr va) const { return x86::pte_write(pte(pid, va)); }
  // The names of the invariants check_invariants() reports now.
  std::vector<std::string> violations() const {
    std::vector<std::string> names;
    for (const InvariantViolation& v : kernel.check_invariants()) names.push_back(v.invariant);
    return names;
  }
  bool violates(const std::string& name) const {
    const auto names = violations();
    return std::find(names.begin(), names.end(), name) != names.end();
  }
  // dma_w / dma_r of §5.0: 8 bytes at the start of the pinned page.
  long dma_write(long pin, std::uint64_t value) {
    return kernel.device_write(pin, 0, &value, sizeof value);
  }
  std::uint64_t dma_read(long pin) {
    std::uint64_t value = ~0ull;
    EXPECT_EQ(kernel.device_read(pin, 0, &value, sizeof value), 0);
    return value;
  }

  FakePort port;
  stats::Group root{"root"};
  Kernel kernel;
  SwCpu cpu;
};

}  // namespace mmusim::mm::testing
