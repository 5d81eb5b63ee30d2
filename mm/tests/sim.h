// One mm test bench: a FakePort of `frames` frames, a statistics root, the Kernel and a SwCpu.
#pragma once

#include <string>

#include "fake_port.h"
#include "mmusim/mm/kernel.h"
#include "mmusim/stats/stats.h"
#include "sw_cpu.h"

namespace mmusim::mm::testing {


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

  FakePort port;
  stats::Group root{"root"};
  Kernel kernel;
  SwCpu cpu;
};

}  // namespace mmusim::mm::testing
