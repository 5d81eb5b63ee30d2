// Runs a scenario on the SystemC machine under the OS model: each step becomes an operation of
// the core that runs the step's process; faults and kernel entries come back through the core's
// exception vector into mm; every completed load is checked by the shadow-memory oracle.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mmusim/machine/core_interfaces.h"
#include "mmusim/machine/machine.h"
#include "mmusim/mm/kernel.h"
#include "mmusim/stats/stats.h"
#include "mmusim/testbench/fault_probe.h"
#include "mmusim/testbench/machine_port.h"
#include "mmusim/testbench/params.h"
#include "mmusim/testbench/scenario.h"
#include "mmusim/testbench/shadow_memory.h"

namespace mmusim::testbench {

// A check that did not hold. `kind` is one of: "missed COW", "lost store", "value",
// "signal", "expect", "syscall", "invariant", "internal".
struct Failure {
  Location where;
  std::string kind;
  std::string message;
};

// One executed step, for the trace.
struct TraceLine {
  Location where;
  std::string text;
  std::string outcome;
  Cycles cycles_at_end = 0;
};

struct RunResult {
  std::vector<Failure> failures;
  std::vector<TraceLine> trace;
  Cycles cycles = 0;     // cpu0's final time
  bool stopped = false;  // the run stopped early (invariant violation or internal error)
  bool passed() const { return failures.empty(); }
};

class ScenarioRunner final : public machine::CoreProgram, public machine::ExceptionVector {
 public:
  // Elaborates the machine; only one runner per process (SystemC elaborates once).
  ScenarioRunner(const Scenario& scenario, const SimConfig& config, stats::Group& root);
  ~ScenarioRunner() override;

  RunResult run();

  // machine::CoreProgram
  bool next(CpuId cpu, machine::CoreOp& op) override;
  void completed(CpuId cpu, const machine::CoreOp& op, std::uint64_t value, Cycles now) override;
  void aborted(CpuId cpu, const machine::CoreOp& op, Cycles now) override;
  // machine::ExceptionVector
  machine::FaultReply page_fault(CpuId cpu, VirtAddr va, std::uint32_t error_code, Cycles now) override;
  Cycles kernel_entry(CpuId cpu, const machine::CoreOp& op, Cycles now) override;

 private:
  static constexpr std::uint64_t kScheduleToken = 1ull << 63;

  static const std::string* acting_process(const Step& step);  // the process a step acts as
  bool alive(const std::string& proc) const;
  std::string death_of(const std::string& proc) const;  // " (killed by SIGSEGV)" or ""
  std::optional<VirtAddr> resolve(const AddrExpr& addr) const;
  void fail(const Step& step, std::string kind, std::string message);
  void trace(const Step& step, std::string outcome, Cycles now);
  void evaluate(const Step& step, const ExpectStep& expect);
  void kernel_step(CpuId cpu, const Step& step);
  void ensure_current(CpuId cpu, mm::Pid pid);
  void check_invariants(const Step& step);
  void stop(const Step& step, const std::string& kind, const std::string& message);
  mm::Pid pid_of(const std::string& proc) const;
  const std::string& name_of(mm::Pid pid) const;

  // Faults by kind per scenario process ("proc.P.faults.wp_copy").
  struct ProcStats {
    ProcStats(stats::Group& parent, const std::string& name);
    stats::Group group;
    stats::Group faults;
    std::vector<std::unique_ptr<stats::Scalar>> by_kind;
    stats::Formula total;
  };

  const Scenario& scenario_;
  SimConfig config_;
  stats::Group& root_;
  std::unique_ptr<machine::Machine> machine_;
  std::unique_ptr<MachinePort> port_;
  std::unique_ptr<mm::Kernel> kernel_;
  FaultProbe probe_;
  stats::Group proc_group_;
  std::vector<std::unique_ptr<ProcStats>> proc_stats_;
  ShadowMemory shadow_;
  std::vector<std::pair<std::string, mm::Pid>> procs_;
  std::vector<std::pair<std::string, VirtAddr>> regions_;
  std::size_t pc_ = 0;
  RunResult result_;
};

}  // namespace mmusim::testbench
