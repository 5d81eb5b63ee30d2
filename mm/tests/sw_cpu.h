// A software "CPU" for mm tests: loads and stores by a process at a virtual address, translated
// like x86 hardware would (TLB per CPU and PCID in the FakePort, 4-level walk that ANDs
// permissions and sets A/D, a store through a clean TLB entry re-walks to set D), with #PF
// delivered to Kernel::handle_page_fault and the access retried.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "fake_port.h"
#include "mmusim/mm/kernel.h"

namespace mmusim::mm::testing {

class SwCpu {
 public:
  SwCpu(FakePort& port, Kernel& kernel) : port_(port), kernel_(kernel) {}

  // 8-byte accesses by `pid` running on `cpu` (switched to first if it is not current). nullopt /
  // false when a fault killed the task.
  std::optional<std::uint64_t> load(CpuId cpu, Pid pid, VirtAddr va);
  bool store(CpuId cpu, Pid pid, VirtAddr va, std::uint64_t value);

  // Fault kinds the accesses raised, in order; cleared by take_faults().
  std::vector<FaultKind> take_faults();

 private:
  struct Walk {
    std::optional<PhysAddr> pa;   // the translation, when the walk succeeded
    std::uint32_t error_code = 0;  // #PF error code otherwise
  };
  std::optional<PhysAddr> translate(CpuId cpu, Pid pid, VirtAddr va, bool write);
  Walk walk(CpuId cpu, VirtAddr va, bool write);

  FakePort& port_;
  Kernel& kernel_;
  std::vector<FaultKind> faults_;
};

}  // namespace mmusim::mm::testing
