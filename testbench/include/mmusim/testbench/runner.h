// Runs a scenario on the SystemC machine under the OS model: each step becomes an operation of
// the core that runs the step's process; faults and kernel entries come back through the core's
// exception vector into mm; every completed load is checked by the shadow-memory oracle.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <tuple>
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

// A check that did not hold. `kind` is one of: "missed COW", "wrong COW", "lost store",
// "value", "signal", "expect", "syscall", "pin", "deadlock", "invariant", "scenario" (the scenario
// asks for something the model cannot do, e.g. a fault inside a GUP-fast section), "internal".
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
  Cycles cycles_at_start = 0;  // when the step's core took its first operation
  Cycles cycles_at_end = 0;
};

// When one step ran, on its core's clock: from taking its first operation to the end of its last
// (a context switch to the step's process included). A step that needs no core (expect, dma)
// has start == end == the time it was checked.
struct StepTiming {
  bool ran = false;
  Cycles start = 0;
  Cycles end = 0;
  // The change of each statistic given to ScenarioRunner::watch over the step (value_as_double:
  // a count for scalars and distributions).
  std::vector<double> watched;
  // The change of each watched distribution's sum (0 for other statistics).
  std::vector<double> watched_sum;
};

struct RunResult {
  std::vector<Failure> failures;
  std::vector<TraceLine> trace;
  std::vector<StepTiming> steps;  // one per scenario step, in file order
  Cycles cycles = 0;     // the latest core's final time
  bool stopped = false;  // the run stopped early (invariant violation or internal error)
  bool passed() const { return failures.empty(); }
};

class ScenarioRunner final : public machine::CoreProgram, public machine::ExceptionVector {
 public:
  // Elaborates the machine with at least scenario.cores cores; only one runner per process
  // (SystemC elaborates once).
  ScenarioRunner(const Scenario& scenario, const SimConfig& config, stats::Group& root);
  ~ScenarioRunner() override;

  RunResult run();
  const SimConfig& config() const { return config_; }
  // Statistics whose change over each step is recorded in RunResult::steps (a workload's table
  // reads flush kinds and targets per step). Throws std::invalid_argument for an unknown path.
  void watch(const std::vector<std::string>& paths);
  // Called at each step's start and every few thousand operations of a page-range step, from the
  // simulation (a progress line): steps started so far, steps in all, the caller's core time.
  using ProgressHook = std::function<void(std::size_t started, std::size_t steps, Cycles now)>;
  void on_progress(ProgressHook hook) { progress_ = std::move(hook); }

  // machine::CoreProgram
  bool next(CpuId cpu, machine::CoreOp& op) override;
  void completed(CpuId cpu, const machine::CoreOp& op, std::uint64_t value, Cycles now) override;
  void aborted(CpuId cpu, const machine::CoreOp& op, Cycles now) override;
  void store_visible(CpuId cpu, const machine::CoreOp& op, PhysAddr pa, Cycles now) override;
  // machine::ExceptionVector
  machine::FaultReply page_fault(CpuId cpu, VirtAddr va, std::uint32_t error_code, Cycles now) override;
  Cycles kernel_entry(CpuId cpu, const machine::CoreOp& op, Cycles now) override;

 private:
  // Token bits of a core operation: the step index, plus what the op does for the step.
  static constexpr std::uint64_t kScheduleToken = 1ull << 63;  // context switch to the step's process
  static constexpr std::uint64_t kStepMask = (1ull << 32) - 1;

  // Steps run in file order: a step starts when the previous one has finished, on the core of
  // its thread. The exception is a step whose shootdown waits for a core with interrupts
  // disabled (a pin_begin): later steps run until that core enables them again (HW5).
  struct CpuSlot {
    std::optional<std::size_t> step;     // the step this core executes
    std::vector<machine::CoreOp> ops;    // its remaining operations, last first
    bool blocked = false;                // waiting in a shootdown for an interrupt-disabled core
    std::uint64_t awaited = 0;           // those cores
    // A page-range access (pages=N): its accesses are made one at a time when the stack is down
    // to `range_tail` operations (the fence that follows them), so a million pages take no memory.
    std::uint64_t range_left = 0;
    std::size_t range_tail = 0;
    machine::CoreOp range_op;
    bool started = false;                // the core took the step's first operation
    std::vector<double> watched_at_start, watched_sum_at_start;
  };
  void pump();                                       // starts steps while none is running
  bool start_step(std::size_t index);                // false when the step needed no core
  void finish_step(CpuId cpu);
  void instant_step(const Step& step);               // expect, expect pin, dma
  void blocked(CpuId cpu, bool is_blocked, std::uint64_t awaited);

  static const std::string* acting_process(const Step& step);  // the process a step acts as
  bool alive(const std::string& proc) const;
  std::string death_of(const std::string& proc) const;  // " (killed by SIGSEGV)" or ""
  std::optional<VirtAddr> resolve(const AddrExpr& addr) const;
  void fail(const Step& step, std::string kind, std::string message);
  void trace(const Step& step, std::string outcome, Cycles now);
  void evaluate(const Step& step, const ExpectStep& expect);
  void kernel_step(CpuId cpu, const Step& step);
  void syscall_result(const Step& step, const char* what, long result);
  void ensure_current(CpuId cpu, mm::Pid pid);
  void stop(const Step& step, const std::string& kind, const std::string& message);
  void check_load(const Step& step, const std::string& who, const std::string& proc, VirtAddr va,
                  const AddrExpr& addr, unsigned size, std::uint64_t value, AccessExpect expect,
                  std::uint64_t expected, const std::string& verdict);
  void verdict_missing(const Step& step, const std::string& verdict, const std::string& who, std::uint64_t value);
  void detach_pins(const std::string& proc, VirtAddr start, std::uint64_t len);
  mm::Pid pid_of(const std::string& proc) const;
  const std::string& name_of(mm::Pid pid) const;
  void count_fault(mm::Pid pid, mm::FaultKind kind);

  // Faults by kind per scenario process ("proc.P.faults.wp_copy").
  struct ProcStats {
    ProcStats(stats::Group& parent, const std::string& name);
    stats::Group group;
    stats::Group faults;
    std::vector<std::unique_ptr<stats::Scalar>> by_kind;
    stats::Formula total;
  };
  // A pin or reference of the scenario, and the oracle's view of the frame it holds.
  struct PinState {
    long id = 0;             // mm's handle (>= 1), or a cursor while pin_begin is open
    std::string proc;
    VirtAddr va = 0;
    bool attached = true;    // the process still maps the pinned address (no munmap/dontneed/exit)
    std::array<std::uint8_t, kPageSize> detached{};  // the frame as the device sees it once detached
  };
  // A store left in a store buffer (`write ... buffered`): recorded when it becomes visible.
  struct PendingStore {
    CpuId cpu;
    std::size_t step;
  };

  const Scenario& scenario_;
  SimConfig config_;
  stats::Group& root_;
  FaultProbe probe_;  // before the port: the port's flush probe lives in its group
  std::unique_ptr<machine::Machine> machine_;
  std::unique_ptr<MachinePort> port_;
  std::unique_ptr<mm::Kernel> kernel_;
  stats::Group proc_group_;
  std::vector<std::unique_ptr<ProcStats>> proc_stats_;
  ShadowMemory shadow_;
  std::vector<std::pair<std::string, mm::Pid>> procs_;
  std::vector<std::pair<std::string, VirtAddr>> regions_;
  std::map<std::string, PinState> pins_;
  std::vector<std::tuple<std::string, VirtAddr, std::uint64_t, std::string>> fork_advice_;  // proc, start, len, advice
  std::vector<PendingStore> pending_stores_;
  std::vector<CpuSlot> slots_;
  std::size_t next_step_ = 0;  // the next step to start
  unsigned running_ = 0;       // started, not finished, not blocked
  std::size_t last_step_ = 0;  // for messages about a machine error
  RunResult result_;
  std::vector<const stats::Stat*> watched_;
  ProgressHook progress_;
  std::uint64_t ops_since_progress_ = 0;
  void step_started(CpuId cpu, std::size_t index);
  void step_ended(CpuId cpu, std::size_t index);
  void watched_values(std::vector<double>& counts, std::vector<double>& sums) const;
};

}  // namespace mmusim::testbench
