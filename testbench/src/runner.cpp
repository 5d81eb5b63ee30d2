#include "mmusim/testbench/runner.h"

#include <fmt/format.h>

#include <algorithm>

#include "overloaded.h"

namespace mmusim::testbench {

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

namespace {
SimConfig with_cores(SimConfig config, unsigned cores) {
  config.machine.cores = std::max(config.machine.cores, cores);
  return config;
}
}  // namespace

ScenarioRunner::ScenarioRunner(const Scenario& scenario, const SimConfig& config, stats::Group& root)
    : scenario_(scenario),
      config_(with_cores(config, scenario.cores)),
      root_(root),
      probe_(root, scenario.cores),
      proc_group_("proc", &root) {
  validate(config_);
  machine_ = std::make_unique<machine::Machine>(config_.machine, *this, *this, root_);
  port_ = std::make_unique<MachinePort>(*machine_, probe_.group(), probe_.cpu_groups(), &root_);
  port_->on_blocked([this](CpuId cpu, bool is_blocked, std::uint64_t awaited) { blocked(cpu, is_blocked, awaited); });
  kernel_ = std::make_unique<mm::Kernel>(*port_, config_.kernel, root_);
  slots_.resize(config_.machine.cores);
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

void ScenarioRunner::watch(const std::vector<std::string>& paths) {
  watched_.clear();
  for (const std::string& path : paths) {
    const stats::Stat* stat = root_.find(path);
    if (!stat) throw std::invalid_argument(fmt::format("watch: unknown statistic '{}'", path));
    watched_.push_back(stat);
  }
}

void ScenarioRunner::watched_values(std::vector<double>& counts, std::vector<double>& sums) const {
  counts.clear();
  sums.clear();
  for (const stats::Stat* s : watched_) {
    counts.push_back(s->value_as_double());
    const auto* d = dynamic_cast<const stats::Distribution*>(s);
    sums.push_back(d ? static_cast<double>(d->sum()) : 0.0);
  }
}

void ScenarioRunner::step_started(CpuId cpu, std::size_t index) {
  CpuSlot& slot = slots_[cpu];
  slot.started = true;
  StepTiming& t = result_.steps[index];
  t.ran = true;
  t.start = machine_->now(cpu);
  watched_values(slot.watched_at_start, slot.watched_sum_at_start);
  if (progress_) progress_(next_step_, scenario_.steps.size(), t.start);
}

void ScenarioRunner::step_ended(CpuId cpu, std::size_t index) {
  CpuSlot& slot = slots_[cpu];
  StepTiming& t = result_.steps[index];
  t.end = machine_->now(cpu);
  if (!slot.started) t.start = t.end;
  watched_values(t.watched, t.watched_sum);
  for (std::size_t i = 0; i < t.watched.size() && slot.started; ++i) {
    t.watched[i] -= slot.watched_at_start[i];
    t.watched_sum[i] -= slot.watched_sum_at_start[i];
  }
  slot.started = false;
}

RunResult ScenarioRunner::run() {
  result_.steps.assign(scenario_.steps.size(), StepTiming{});
  try {
    machine_->run();
  } catch (const std::exception& e) {  // a machine error (e.g. a core that cannot make progress)
    const std::string why = e.what();
    const bool waiting = std::any_of(slots_.begin(), slots_.end(), [](const CpuSlot& s) { return s.blocked; });
    stop(scenario_.steps[last_step_], waiting ? "deadlock" : "internal", "the machine stopped: " + why);
  }
  if (!result_.stopped && next_step_ < scenario_.steps.size()) {
    // Every core went idle with steps left: a step waits for something no later step can give.
    const Step& stuck = scenario_.steps[last_step_];
    fail(stuck, "deadlock",
         fmt::format("the run cannot go on: step {} waits (a shootdown to a core whose interrupts stay "
                     "disabled?) and the next step needs the same core",
                     stuck.text));
  }
  for (CpuId cpu = 0; cpu < machine_->cores(); ++cpu) result_.cycles = std::max(result_.cycles, machine_->now(cpu));
  return std::move(result_);
}

// ---- step scheduling ----

void ScenarioRunner::pump() {
  while (!result_.stopped && running_ == 0 && next_step_ < scenario_.steps.size()) {
    // A blocked step whose awaited cores have all enabled interrupts again is about to finish:
    // later steps wait for it, as they would for any step.
    // Likewise a step spinning on a lock once no operation is held at a pause point any more.
    for (const CpuSlot& s : slots_) {
      if (!s.blocked) continue;
      if (s.awaited == MachinePort::kAwaitsStep ? port_->held() == 0
                                                : (s.awaited & port_->irqs_disabled_mask()) == 0)
        return;
    }
    const std::size_t index = next_step_;
    const Step& step = scenario_.steps[index];
    if (step.cpu && slots_[*step.cpu].step) return;  // its core still holds a blocked step
    ++next_step_;
    last_step_ = index;
    start_step(index);
  }
  // The parser pairs every `fork ... pause` with a `resume`; a run that failed before it (or a
  // step it needed) must not leave the fork held forever.
  if (port_->held() > 0 && running_ == 0 && (result_.stopped || next_step_ >= scenario_.steps.size())) {
    if (!result_.stopped)
      fail(scenario_.steps[last_step_], "scenario", "an operation is still held at a pause point: nothing resumed it");
    port_->release_all_pauses();
  }
}

bool ScenarioRunner::start_step(std::size_t index) {
  const Step& step = scenario_.steps[index];
  if (!step.cpu) {
    instant_step(step);
    return false;
  }
  // A process the parser believed alive may have died at run time (an unexpected signal, or a
  // failed process creation): its later steps are not made.
  if (const std::string* proc = acting_process(step); proc && !alive(*proc)) {
    fail(step, "signal", fmt::format("process {} is not alive{}; the step was not made", *proc, death_of(*proc)));
    return false;
  }
  const CpuId cpu = *step.cpu;
  CpuSlot& slot = slots_[cpu];
  slot.ops.clear();
  machine::CoreOp op;
  op.token = index;
  if (const auto* a = std::get_if<AccessStep>(&step.op)) {
    const auto va = resolve(a->addr);
    if (!va) {
      fail(step, "syscall", fmt::format("region {} was never mapped", a->addr.region));
      return false;
    }
    if (a->kind == AccessStep::Kind::kWrite && !a->buffered) {  // visible before the next step
      machine::CoreOp fence = op;
      fence.kind = machine::CoreOp::Kind::kFence;
      slot.ops.push_back(fence);
    }
    op.kind = a->kind == AccessStep::Kind::kWrite      ? machine::CoreOp::Kind::kStore
              : a->kind == AccessStep::Kind::kRead     ? machine::CoreOp::Kind::kLoad
              : a->kind == AccessStep::Kind::kPrefetch ? machine::CoreOp::Kind::kPrefetch
                                                       : machine::CoreOp::Kind::kFetch;
    op.va = *va;
    op.value = a->value;
    op.size = a->size;
    if (a->pages > 1) {  // made one at a time in next(), before the fence
      slot.range_op = op;
      slot.range_left = a->pages;
      slot.range_tail = slot.ops.size();
    } else {
      slot.ops.push_back(op);
    }
  } else if (std::holds_alternative<FenceStep>(step.op)) {
    op.kind = machine::CoreOp::Kind::kFence;
    slot.ops.push_back(op);
  } else {
    op.kind = machine::CoreOp::Kind::kKernel;
    slot.ops.push_back(op);
  }
  // Loads, stores and fences run in the step's process: switch to it first if needed.
  const bool user_op = slot.range_left > 0 || slot.ops.back().kind != machine::CoreOp::Kind::kKernel;
  if (const std::string* proc = acting_process(step); proc && user_op) {
    machine::CoreOp sched = op;
    sched.kind = machine::CoreOp::Kind::kKernel;
    sched.token = index | kScheduleToken;
    slot.ops.push_back(sched);
  }
  slot.step = index;
  slot.blocked = false;
  ++running_;
  machine_->wake(cpu);
  return true;
}

void ScenarioRunner::finish_step(CpuId cpu) {
  CpuSlot& slot = slots_[cpu];
  if (slot.step) step_ended(cpu, *slot.step);
  slot.step.reset();
  slot.ops.clear();
  slot.range_left = 0;
  if (!slot.blocked) --running_;
  slot.blocked = false;
  slot.awaited = 0;
}

void ScenarioRunner::blocked(CpuId cpu, bool is_blocked, std::uint64_t awaited) {
  CpuSlot& slot = slots_[cpu];
  if (!slot.step || slot.blocked == is_blocked) return;
  slot.blocked = is_blocked;
  slot.awaited = awaited;
  if (is_blocked) {
    --running_;
    pump();
  } else {
    ++running_;
  }
}

// ---- CoreProgram ----

bool ScenarioRunner::next(CpuId cpu, machine::CoreOp& op) {
  CpuSlot& slot = slots_[cpu];
  if (slot.step && slot.ops.empty() && slot.range_left == 0) finish_step(cpu);
  if (!slot.step) pump();
  if (slot.step && slot.range_left > 0 && slot.ops.size() == slot.range_tail) {
    slot.ops.push_back(slot.range_op);  // the next page of a page-range access
    slot.range_op.va += kPageSize;
    --slot.range_left;
    if (progress_ && ++ops_since_progress_ % 4096 == 0) progress_(next_step_, scenario_.steps.size(), machine_->now(cpu));
  }
  if (slot.step && !slot.ops.empty() && !result_.stopped) {
    if (!slot.started) step_started(cpu, *slot.step);
    op = slot.ops.back();
    slot.ops.pop_back();
    return true;
  }
  const bool done = result_.stopped || (next_step_ >= scenario_.steps.size() && running_ == 0 &&
                                        std::none_of(slots_.begin(), slots_.end(), [](const CpuSlot& s) {
                                          return s.step.has_value();
                                        }));
  if (done) {
    for (CpuId c = 0; c < machine_->cores(); ++c)
      if (c != cpu) machine_->wake(c);
    return false;
  }
  op = {};
  op.kind = machine::CoreOp::Kind::kWait;
  return true;
}

void ScenarioRunner::completed(CpuId cpu, const machine::CoreOp& op, std::uint64_t value, Cycles now) {
  probe_.access_done(cpu, now);
  if (op.kind == machine::CoreOp::Kind::kFence) return;
  const Step& step = scenario_.steps[op.token & kStepMask];
  const auto& access = std::get<AccessStep>(step.op);
  if (access.expect == AccessExpect::kSignal)
    fail(step, "signal", fmt::format("expected {}, but the access to {:#x} completed", access.signal, op.va));
  // A page-range access is traced once, at its last page.
  const bool traced = access.pages == 1 || slots_[cpu].range_left == 0;
  const std::string pages = access.pages > 1 ? fmt::format(" ({} pages)", access.pages) : "";
  switch (access.kind) {
    case AccessStep::Kind::kWrite:
      if (access.buffered) {
        pending_stores_.push_back({cpu, op.token & kStepMask});
        trace(step, "store buffered", now);
      } else {
        shadow_.store(access.proc, op.va, op.value, op.size);
        if (traced) trace(step, "stored" + pages, now);
      }
      return;
    case AccessStep::Kind::kFetch:
      trace(step, "fetched", now);
      return;
    case AccessStep::Kind::kPrefetch:
      trace(step, "prefetched", now);
      return;
    case AccessStep::Kind::kRead:
      break;
  }
  // A load that a buffered store of this core may have forwarded is not the oracle's to judge.
  const bool forwarded = std::any_of(pending_stores_.begin(), pending_stores_.end(), [&](const PendingStore& p) {
    const auto& w = std::get<AccessStep>(scenario_.steps[p.step].op);
    const auto wva = resolve(w.addr);
    return p.cpu == cpu && wva && *wva < op.va + op.size && op.va < *wva + w.size;
  });
  if (!forwarded)
    check_load(step, access.proc, access.proc, op.va, access.addr, op.size, value, access.expect, access.expected,
               access.signal);
  if (traced) trace(step, fmt::format("read {}{}", value, pages), now);
}

void ScenarioRunner::store_visible(CpuId cpu, const machine::CoreOp& op, PhysAddr, Cycles) {
  if (op.kind == machine::CoreOp::Kind::kKernel) return;  // the OS's own plain stores
  // Only buffered stores are recorded here; the others were recorded at completion, with the
  // fence that follows them making them visible before the next step.
  auto it = std::find_if(pending_stores_.begin(), pending_stores_.end(), [&](const PendingStore& p) {
    return p.cpu == cpu && p.step == (op.token & kStepMask);
  });
  if (it == pending_stores_.end()) return;
  const auto& access = std::get<AccessStep>(scenario_.steps[it->step].op);
  shadow_.store(access.proc, op.va, op.value, op.size);
  pending_stores_.erase(it);
}

void ScenarioRunner::aborted(CpuId cpu, const machine::CoreOp& op, Cycles now) {
  probe_.access_done(cpu, now);
  if (result_.stopped) return;  // the handler failed; already reported
  const Step& step = scenario_.steps[op.token & kStepMask];
  const auto& access = std::get<AccessStep>(step.op);
  const mm::Pid pid = pid_of(access.proc);
  const auto signal = kernel_->killed_by(pid);
  const char* name = signal ? mm::signal_name(*signal) : "an unknown cause";
  shadow_.exit(access.proc);
  detach_pins(access.proc, 0, ~0ull);
  slots_[cpu].ops.clear();  // the step ends with its process
  slots_[cpu].range_left = 0;
  if (access.expect == AccessExpect::kSignal && access.signal == name) {
    trace(step, fmt::format("{} (expected)", name), now);
    return;
  }
  const char* verb = access.kind == AccessStep::Kind::kWrite  ? "write to"
                     : access.kind == AccessStep::Kind::kRead ? "read of"
                                                              : "fetch from";
  fail(step, "signal",
       fmt::format("process {} was killed by {} at {:#x} ({} {})", access.proc, name, op.va, verb, access.addr.str()));
  trace(step, fmt::format("killed by {}", name), now);
}

// ---- ExceptionVector ----

void ScenarioRunner::count_fault(mm::Pid pid, mm::FaultKind kind) {
  for (auto& ps : proc_stats_)
    if (ps->group.name() == name_of(pid)) ps->by_kind[static_cast<std::size_t>(kind)]->inc();
}

machine::FaultReply ScenarioRunner::page_fault(CpuId cpu, VirtAddr va, std::uint32_t error_code, Cycles now) {
  port_->begin(cpu);
  const Step& step = scenario_.steps[slots_[cpu].step.value_or(last_step_)];
  if (port_->irqs_disabled_mask() & (1ull << cpu)) {
    // The loads and stores a GUP-fast section allows stand for what its thread did through the
    // translations its CPU already holds; a #PF cannot be taken with interrupts disabled, and
    // handling it could wait forever on a lock held by an operation waiting for this CPU.
    stop(step, "scenario",
         fmt::format("cpu{} faulted at {:#x} inside a GUP-fast section (interrupts disabled until its "
                     "pin_end): only accesses through translations the CPU already holds may run there",
                     cpu, va));
    return {machine::FaultOutcome::kAbort, port_->end(cpu)};
  }
  try {
    const auto pid = kernel_->current(cpu);  // taken first: a fatal fault ends the task
    const mm::FaultResult result = kernel_->handle_page_fault(cpu, va, error_code);
    probe_.fault_raised(cpu, result.kind, now, port_->account(cpu));
    if (pid) count_fault(*pid, result.kind);
    const bool killed = result.signal != mm::Signal::kNone;
    return {killed ? machine::FaultOutcome::kAbort : machine::FaultOutcome::kRetry, port_->end(cpu)};
  } catch (const mm::InvariantError& e) {
    stop(step, "invariant", e.what());
  } catch (const std::exception& e) {
    stop(step, "internal", fmt::format("page fault at {:#x}: {}", va, e.what()));
  }
  return {machine::FaultOutcome::kAbort, port_->end(cpu)};
}

Cycles ScenarioRunner::kernel_entry(CpuId cpu, const machine::CoreOp& op, Cycles now) {
  port_->begin(cpu);
  const Step& step = scenario_.steps[op.token & kStepMask];
  try {
    if (op.token & kScheduleToken) {
      const mm::Pid pid = pid_of(*acting_process(step));
      if (kernel_->current(cpu) != pid) {
        kernel_->switch_to(cpu, pid);
        probe_.syscall("context_switch", port_->account(cpu));
      }
    } else {
      kernel_step(cpu, step);
      trace(step, "done", now + port_->account(cpu).total());
    }
  } catch (const mm::InvariantError& e) {
    stop(step, "invariant", e.what());
  } catch (const std::exception& e) {
    stop(step, "internal", e.what());
  }
  return port_->end(cpu);
}

}  // namespace mmusim::testbench
