#include "mmusim/testbench/runner.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace mmusim::testbench {

namespace {
template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

// Which CPU runs a scenario process. This machine slice schedules every process on cpu 0.
constexpr CpuId kCpu = 0;
}  // namespace

ScenarioRunner::ProcStats::ProcStats(stats::Group& parent, const std::string& name)
    : group(name, &parent),
      faults("faults", &group),
      total(faults, "total", stats::Unit::kCount, fmt::format("page faults of every kind taken by process {}", name),
            [this] {
              double sum = 0;
              for (const auto& s : by_kind) sum += s->value_as_double();
              return sum;
            }) {
  for (std::size_t k = 0; k < mm::kFaultKindCount; ++k) {
    const char* kind = mm::fault_kind_name(static_cast<mm::FaultKind>(k));
    by_kind.push_back(std::make_unique<stats::Scalar>(
        faults, kind, stats::Unit::kCount, fmt::format("page faults of kind {} taken by process {}", kind, name)));
  }
}

ScenarioRunner::ScenarioRunner(const Scenario& scenario, const SimConfig& config, stats::Group& root)
    : scenario_(scenario), config_(config), root_(root), probe_(root), proc_group_("proc", &root) {
  validate(config_);
  machine_ = std::make_unique<machine::Machine>(config_.machine, *this, *this, root_);
  port_ = std::make_unique<MachinePort>(*machine_);
  kernel_ = std::make_unique<mm::Kernel>(*port_, config_.kernel, root_);
  // Every statistic exists before the run, so expectations are checked as input.
  for (const Step& step : scenario_.steps) {
    if (const auto* p = std::get_if<ProcessStep>(&step.op))
      proc_stats_.push_back(std::make_unique<ProcStats>(proc_group_, p->name));
    else if (const auto* f = std::get_if<ForkStep>(&step.op))
      proc_stats_.push_back(std::make_unique<ProcStats>(proc_group_, f->child));
  }
  for (const Step& step : scenario_.steps) {
    const auto* expect = std::get_if<ExpectStep>(&step.op);
    if (!expect || root_.find(expect->stat)) continue;
    std::string known;
    const std::string prefix = expect->stat.substr(0, expect->stat.rfind('.') + 1);
    for (const std::string& path : root_.paths())
      if (!prefix.empty() && path.compare(0, prefix.size(), prefix) == 0) known += "\n    " + path;
    throw ScenarioError(step.where, fmt::format("unknown statistic '{}'{}", expect->stat,
                                                known.empty() ? " (mmusim stats lists them)"
                                                              : "; statistics under that prefix:" + known));
  }
}

ScenarioRunner::~ScenarioRunner() = default;

RunResult ScenarioRunner::run() {
  try {
    machine_->run();
  } catch (const std::exception& e) {  // a machine error (e.g. a core that cannot make progress)
    const Step& step = scenario_.steps[pc_ == 0 ? 0 : pc_ - 1];
    stop(step, "internal", fmt::format("the machine stopped: {}", e.what()));
  }
  result_.cycles = machine_->now(kCpu);
  return std::move(result_);
}

mm::Pid ScenarioRunner::pid_of(const std::string& proc) const {
  for (const auto& [name, pid] : procs_)
    if (name == proc) return pid;
  return -1;
}

const std::string& ScenarioRunner::name_of(mm::Pid pid) const {
  for (const auto& entry : procs_)
    if (entry.second == pid) return entry.first;
  static const std::string kUnknown = "?";
  return kUnknown;
}

const std::string* ScenarioRunner::acting_process(const Step& step) {
  return std::visit(Overloaded{
                        [](const ProcessStep&) -> const std::string* { return nullptr; },
                        [](const ExpectStep&) -> const std::string* { return nullptr; },
                        [](const MmapStep& m) { return &m.proc; },
                        [](const AccessStep& a) { return &a.proc; },
                        [](const ForkStep& f) { return &f.parent; },
                        [](const ExitStep& e) { return &e.proc; },
                    },
                    step.op);
}

bool ScenarioRunner::alive(const std::string& proc) const {
  const mm::Pid pid = pid_of(proc);
  return pid >= 0 && kernel_->alive(pid);
}

std::string ScenarioRunner::death_of(const std::string& proc) const {
  const mm::Pid pid = pid_of(proc);
  if (pid < 0) return " (it was never created)";
  const auto signal = kernel_->killed_by(pid);
  return signal ? fmt::format(" (killed by {})", mm::signal_name(*signal)) : "";
}

std::optional<VirtAddr> ScenarioRunner::resolve(const AddrExpr& addr) const {
  if (addr.region.empty()) return addr.offset;
  for (const auto& [name, va] : regions_)
    if (name == addr.region) return va + addr.offset;
  return std::nullopt;
}

void ScenarioRunner::fail(const Step& step, std::string kind, std::string message) {
  result_.failures.push_back({step.where, std::move(kind), std::move(message)});
}

void ScenarioRunner::trace(const Step& step, std::string outcome, Cycles now) {
  result_.trace.push_back({step.where, step.text, std::move(outcome), now});
}

void ScenarioRunner::stop(const Step& step, const std::string& kind, const std::string& message) {
  fail(step, kind, message);
  result_.stopped = true;
}

// ---- CoreProgram ----

bool ScenarioRunner::next(CpuId cpu, machine::CoreOp& op) {
  while (!result_.stopped && pc_ < scenario_.steps.size()) {
    const Step& step = scenario_.steps[pc_];
    if (const auto* expect = std::get_if<ExpectStep>(&step.op)) {
      evaluate(step, *expect);
      trace(step, "checked", machine_->now(cpu));
      ++pc_;
      continue;
    }
    // A process the parser believed alive may have died at run time (an unexpected signal, or
    // a failed process creation): its later steps are not made.
    if (const std::string* proc = acting_process(step); proc && !alive(*proc)) {
      fail(step, "signal", fmt::format("process {} is not alive{}; the step was not made", *proc, death_of(*proc)));
      ++pc_;
      continue;
    }
    const auto* access = std::get_if<AccessStep>(&step.op);
    if (!access) {  // process, mmap, fork, exit: a kernel entry on this core
      op = {};
      op.kind = machine::CoreOp::Kind::kKernel;
      op.token = pc_++;
      return true;
    }
    const mm::Pid pid = pid_of(access->proc);
    const auto va = resolve(access->addr);
    if (!va) {
      fail(step, "syscall", fmt::format("region {} was never mapped", access->addr.region));
      ++pc_;
      continue;
    }
    if (kernel_->current(cpu) != pid) {  // schedule the process first (a context switch)
      op = {};
      op.kind = machine::CoreOp::Kind::kKernel;
      op.token = kScheduleToken | static_cast<std::uint64_t>(pid);
      return true;
    }
    op = {};
    op.kind = access->is_write ? machine::CoreOp::Kind::kStore : machine::CoreOp::Kind::kLoad;
    op.va = *va;
    op.value = access->value;
    op.size = access->size;
    op.token = pc_++;
    return true;
  }
  return false;
}

void ScenarioRunner::completed(CpuId cpu, const machine::CoreOp& op, std::uint64_t value, Cycles now) {
  probe_.access_done(cpu, now);
  const Step& step = scenario_.steps[op.token];
  const auto& access = std::get<AccessStep>(step.op);
  if (access.expect == AccessExpect::kSignal)
    fail(step, "signal", fmt::format("expected {}, but the access to {:#x} completed", access.signal, op.va));
  if (access.is_write) {
    shadow_.store(access.proc, op.va, op.value, op.size);
    trace(step, "stored", now);
    return;
  }
  const OracleVerdict verdict = shadow_.check_load(access.proc, op.va, op.size, value);
  if (verdict.kind == OracleVerdict::Kind::kMissedCow) {
    fail(step, "missed COW",
         fmt::format("{} read {} at {} ({:#x}) but must see {}: the value was stored by process {}", access.proc,
                     value, access.addr.str(), op.va, verdict.expected, verdict.culprit));
  } else if (verdict.kind == OracleVerdict::Kind::kLostStore) {
    fail(step, "lost store",
         fmt::format("{} read {} at {} ({:#x}) but must see {}", access.proc, value, access.addr.str(), op.va,
                     verdict.expected));
  }
  if (access.expect == AccessExpect::kValue && value != access.expected)
    fail(step, "value", fmt::format("read {} at {}: expected {}, got {}", access.proc, access.addr.str(),
                                    access.expected, value));
  trace(step, fmt::format("read {}", value), now);
}

void ScenarioRunner::aborted(CpuId cpu, const machine::CoreOp& op, Cycles now) {
  probe_.access_done(cpu, now);
  if (result_.stopped) return;  // the handler failed; already reported
  const Step& step = scenario_.steps[op.token];
  const auto& access = std::get<AccessStep>(step.op);
  const mm::Pid pid = pid_of(access.proc);
  const auto signal = kernel_->killed_by(pid);
  const char* name = signal ? mm::signal_name(*signal) : "an unknown cause";
  shadow_.exit(access.proc);
  if (access.expect == AccessExpect::kSignal && access.signal == name) {
    trace(step, fmt::format("{} (expected)", name), now);
    return;
  }
  fail(step, "signal",
       fmt::format("process {} was killed by {} at {:#x} ({} {})", access.proc, name, op.va,
                   access.is_write ? "write to" : "read of", access.addr.str()));
  trace(step, fmt::format("killed by {}", name), now);
}

// ---- ExceptionVector ----

machine::FaultReply ScenarioRunner::page_fault(CpuId cpu, VirtAddr va, std::uint32_t error_code, Cycles now) {
  port_->begin_account();
  const Step& step = scenario_.steps[pc_ - 1];  // the access being executed
  try {
    const auto pid = kernel_->current(cpu);  // taken first: a fatal fault ends the task
    const mm::FaultResult result = kernel_->handle_page_fault(cpu, va, error_code);
    probe_.fault_raised(cpu, result.kind, now, port_->account());
    if (pid) {
      for (auto& ps : proc_stats_)
        if (ps->group.name() == name_of(*pid)) ps->by_kind[static_cast<std::size_t>(result.kind)]->inc();
    }
    const bool killed = result.signal != mm::Signal::kNone;
    return {killed ? machine::FaultOutcome::kAbort : machine::FaultOutcome::kRetry, port_->account().total()};
  } catch (const mm::InvariantError& e) {
    stop(step, "invariant", e.what());
  } catch (const std::exception& e) {
    stop(step, "internal", fmt::format("page fault at {:#x}: {}", va, e.what()));
  }
  return {machine::FaultOutcome::kAbort, port_->account().total()};
}

Cycles ScenarioRunner::kernel_entry(CpuId cpu, const machine::CoreOp& op, Cycles now) {
  port_->begin_account();
  const bool schedule = (op.token & kScheduleToken) != 0;
  const Step& step = scenario_.steps[schedule ? pc_ : op.token];
  try {
    if (schedule) {
      kernel_->switch_to(cpu, static_cast<mm::Pid>(op.token & ~kScheduleToken));
      probe_.syscall("context_switch", port_->account());
    } else {
      kernel_step(cpu, step);
      trace(step, "done", now + port_->account().total());
    }
  } catch (const mm::InvariantError& e) {
    stop(step, "invariant", e.what());
  } catch (const std::exception& e) {
    stop(step, "internal", e.what());
  }
  return port_->account().total();
}

void ScenarioRunner::ensure_current(CpuId cpu, mm::Pid pid) {
  if (kernel_->current(cpu) != pid) kernel_->switch_to(cpu, pid);
}

void ScenarioRunner::kernel_step(CpuId cpu, const Step& step) {
  std::visit(
      Overloaded{
          [&](const ProcessStep& p) {
            const mm::Pid pid = kernel_->create_process(cpu);
            probe_.syscall("process_create", port_->account());
            if (pid < 0) return fail(step, "syscall", fmt::format("process creation failed: {}", std::strerror(-pid)));
            procs_.emplace_back(p.name, pid);
            shadow_.create(p.name);
          },
          [&](const MmapStep& m) {
            const mm::Pid pid = pid_of(m.proc);
            ensure_current(cpu, pid);
            const long r = kernel_->mmap(cpu, pid, m.at.value_or(0), m.pages * kPageSize, m.prot, m.at.has_value());
            probe_.syscall("mmap", port_->account());
            if (r < 0) return fail(step, "syscall", fmt::format("mmap failed: {}", std::strerror(static_cast<int>(-r))));
            regions_.emplace_back(m.region, static_cast<VirtAddr>(r));
            shadow_.map_zero(m.proc, static_cast<VirtAddr>(r), m.pages * kPageSize);
          },
          [&](const ForkStep& f) {
            const mm::Pid parent = pid_of(f.parent);
            ensure_current(cpu, parent);
            const long child = kernel_->fork(cpu, parent);
            probe_.syscall("fork", port_->account());
            if (child < 0) return fail(step, "syscall", fmt::format("fork failed: {}", std::strerror(static_cast<int>(-child))));
            procs_.emplace_back(f.child, static_cast<mm::Pid>(child));
            shadow_.fork(f.parent, f.child);
          },
          [&](const ExitStep& e) {
            const mm::Pid pid = pid_of(e.proc);
            ensure_current(cpu, pid);
            kernel_->exit(cpu, pid);
            probe_.syscall("exit", port_->account());
            shadow_.exit(e.proc);
          },
          [&](const auto&) { throw std::logic_error("kernel_step: not a kernel operation"); },
      },
      step.op);
}

void ScenarioRunner::evaluate(const Step& step, const ExpectStep& expect) {
  const stats::Stat* stat = root_.find(expect.stat);  // checked to exist at construction
  const double value = stat->value_as_double();
  if (!compare(value, expect.cmp, expect.number))
    fail(step, "expect", fmt::format("{} is {}, expected {} {}", expect.stat, value, compare_symbol(expect.cmp),
                                     expect.number));
}

}  // namespace mmusim::testbench
