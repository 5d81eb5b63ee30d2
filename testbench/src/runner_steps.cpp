// The runner's steps: kernel operations (run on the step's core, inside its kernel entry), the
// instant steps (expectations, device accesses through pins), and the oracle's bookkeeping.
#include <fmt/format.h>

#include <cstring>

#include "mmusim/testbench/runner.h"
#include "overloaded.h"

namespace mmusim::testbench {

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
                        [](const ThreadStep& t) { return &t.actor.proc; },
                        [](const MmapStep& m) { return &m.proc; },
                        [](const AccessStep& a) { return &a.proc; },
                        [](const ForkStep& f) { return &f.parent; },
                        [](const ExitStep& e) { return &e.proc; },
                        [](const RangeStep& r) { return &r.actor.proc; },
                        [](const SwapoutStep& s) { return &s.actor.proc; },
                        [](const SwapDeviceStep& s) { return &s.actor.proc; },
                        [](const ResumeStep&) -> const std::string* { return nullptr; },
                        [](const ClearRefsStep& c) { return &c.actor.proc; },
                        [](const PinStep& p) { return &p.actor.proc; },
                        // Ends the GUP-fast section (re-enables interrupts) even if the process died.
                        [](const PinEndStep&) -> const std::string* { return nullptr; },
                        [](const FenceStep& f) { return &f.actor.proc; },
                        // A driver may release a pin after its process has gone.
                        [](const UnpinStep&) -> const std::string* { return nullptr; },
                        [](const DmaStep&) -> const std::string* { return nullptr; },
                        [](const ExpectStep&) -> const std::string* { return nullptr; },
                        [](const ExpectPinStep&) -> const std::string* { return nullptr; },
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
  const auto index = static_cast<std::size_t>(&step - scenario_.steps.data());
  const StepTiming& t = result_.steps[index];
  result_.trace.push_back({step.where, step.text, std::move(outcome), t.ran ? t.start : now, now});
}

void ScenarioRunner::stop(const Step& step, const std::string& kind, const std::string& message) {
  fail(step, kind, message);
  result_.stopped = true;
  if (port_) port_->release_all_pauses();  // nothing will resume them now
}

void ScenarioRunner::ensure_current(CpuId cpu, mm::Pid pid) {
  if (kernel_->current(cpu) != pid) kernel_->switch_to(cpu, pid);
}

// An operation's errno-style result against the step's `expect ERRNO`.
void ScenarioRunner::syscall_result(const Step& step, const char* what, long result) {
  if (result >= 0) {
    if (step.expect_errno)
      fail(step, "syscall", fmt::format("{} succeeded, expected it to fail with {}", what,
                                        errno_name(*step.expect_errno)));
    return;
  }
  const int err = static_cast<int>(-result);
  if (step.expect_errno == err) return;
  fail(step, "syscall",
       step.expect_errno ? fmt::format("{} failed with {}, expected {}", what, errno_name(err),
                                       errno_name(*step.expect_errno))
                         : fmt::format("{} failed: {} ({})", what, errno_name(err), std::strerror(err)));
}

// The process no longer maps [start, start+len): pins there now hold a frame only the device
// sees (B11, Z01, C01); remember its content as the process last saw it.
void ScenarioRunner::detach_pins(const std::string& proc, VirtAddr start, std::uint64_t len) {
  for (auto& [name, pin] : pins_) {
    if (!pin.attached || pin.proc != proc || pin.va < start || pin.va - start >= len) continue;
    for (std::size_t i = 0; i < kPageSize; ++i)
      pin.detached[i] = static_cast<std::uint8_t>(shadow_.expected(proc, page_align_down(pin.va) + i, 1));
    pin.attached = false;
  }
}

// A known-bad step expected the oracle to object, and it did not.
void ScenarioRunner::verdict_missing(const Step& step, const std::string& verdict, const std::string& who,
                                     std::uint64_t value) {
  fail(step, "expect", fmt::format("expected the oracle to report {} (known-bad), but {} read the correct value {}",
                                   verdict, who, value));
}

void ScenarioRunner::check_load(const Step& step, const std::string& who, const std::string& proc, VirtAddr va,
                                const AddrExpr& addr, unsigned size, std::uint64_t value, AccessExpect expect,
                                std::uint64_t expected, const std::string& verdict_expected) {
  const OracleVerdict verdict = shadow_.check_load(proc, va, size, value);
  const char* name = verdict_name(verdict.kind);
  if (verdict.kind != OracleVerdict::Kind::kOk) {
    if (expect == AccessExpect::kOracle && verdict_expected == name) {
      trace(step, fmt::format("{} (expected: known-bad)", name), 0);
    } else {
      std::string why;
      if (verdict.kind == OracleVerdict::Kind::kMissedCow)
        why = fmt::format(": the value was stored by process {}", verdict.culprit);
      else if (verdict.kind == OracleVerdict::Kind::kWrongCow)
        why = fmt::format(": a device wrote it through pin {}, which no longer holds the mapped page", verdict.culprit);
      fail(step, name,
           fmt::format("{} read {} at {} ({:#x}) but must see {}{}", who, value, addr.str(), va, verdict.expected, why));
    }
  } else if (expect == AccessExpect::kOracle) {
    verdict_missing(step, verdict_expected, who, value);
  }
  if (expect == AccessExpect::kValue && value != expected)
    fail(step, "value", fmt::format("{} read {} at {}: expected {}", who, value, addr.str(), expected));
}

void ScenarioRunner::evaluate(const Step& step, const ExpectStep& expect) {
  const stats::Stat* stat = root_.find(expect.stat);  // checked to exist at construction
  const double value = stat->value_as_double();
  if (!compare(value, expect.cmp, expect.number))
    fail(step, "expect", fmt::format("{} is {}, expected {} {}", expect.stat, value, compare_symbol(expect.cmp),
                                     expect.number));
}

void ScenarioRunner::instant_step(const Step& step) {
  const Cycles now = machine_->now(0);
  StepTiming& timing = result_.steps[static_cast<std::size_t>(&step - scenario_.steps.data())];
  timing.start = timing.end = now;
  watched_values(timing.watched, timing.watched_sum);
  std::fill(timing.watched.begin(), timing.watched.end(), 0.0);
  std::fill(timing.watched_sum.begin(), timing.watched_sum.end(), 0.0);
  if (const auto* e = std::get_if<ExpectStep>(&step.op)) {
    evaluate(step, *e);
    trace(step, "checked", now);
    return;
  }
  if (const auto* r = std::get_if<ResumeStep>(&step.op)) {
    if (!port_->paused(r->cpu))
      return fail(step, "scenario", fmt::format("no operation of {} is held at its pause point on cpu{}", r->actor.str(),
                                                r->cpu));
    port_->release_pause(r->cpu);
    trace(step, "resumed", now);
    return;
  }
  if (const auto* e = std::get_if<ExpectPinStep>(&step.op)) {
    auto found = pins_.find(e->name);
    if (found == pins_.end() || found->second.id <= 0)
      return fail(step, "pin", fmt::format("pin {} was never taken", e->name));
    const PinState& pin = found->second;
    const bool consistent = kernel_->pin_consistent(pin.id);
    if (consistent != e->consistent)
      fail(step, "pin", fmt::format("pin {} is {}: it holds frame {:#x}, the address maps {}", e->name,
                                    consistent ? "consistent" : "inconsistent",
                                    kernel_->pin(pin.id) ? kernel_->pin(pin.id)->pfn : 0,
                                    consistent ? "the same frame" : "another frame or nothing"));
    trace(step, consistent ? "pin consistent" : "pin inconsistent", now);
    return;
  }
  const auto& d = std::get<DmaStep>(step.op);
  auto it = pins_.find(d.name);
  if (it == pins_.end() || it->second.id <= 0)
    return fail(step, "pin", fmt::format("pin {} was never taken (its pin step failed)", d.name));
  PinState& pin = it->second;
  const VirtAddr va = page_align_down(pin.va) + d.offset;
  if (d.is_write) {
    const long r = kernel_->device_write(pin.id, d.offset, &d.value, d.size);
    if (r < 0) return fail(step, "pin", fmt::format("device write through {} failed: {}", d.name, errno_name(-r)));
    if (pin.attached) {
      shadow_.store(pin.proc, va, d.value, d.size, d.name);
    } else {
      for (unsigned i = 0; i < d.size; ++i) pin.detached[d.offset + i] = static_cast<std::uint8_t>(d.value >> (8 * i));
    }
    trace(step, "device wrote", now);
    return;
  }
  std::uint64_t value = 0;
  const long r = kernel_->device_read(pin.id, d.offset, &value, d.size);
  if (r < 0) return fail(step, "pin", fmt::format("device read through {} failed: {}", d.name, errno_name(-r)));
  const std::string who = fmt::format("the device through {}", d.name);
  if (pin.attached) {
    // The device must see what the pinning process sees at the pinned address (I4: PC=Y).
    const std::uint64_t want = shadow_.expected(pin.proc, va, d.size);
    if (value != want) {
      if (d.expect == AccessExpect::kOracle && d.verdict == "wrong COW")
        trace(step, "wrong COW (expected: known-bad)", now);
      else
        fail(step, "wrong COW",
             fmt::format("{} read {} but process {} sees {} at {:#x}: the pin and the mapping have come apart", who,
                         value, pin.proc, want, va));
    } else if (d.expect == AccessExpect::kOracle) {
      verdict_missing(step, d.verdict, who, value);
    }
  } else {
    std::uint64_t want = 0;
    for (unsigned i = 0; i < d.size; ++i) want |= std::uint64_t{pin.detached[d.offset + i]} << (8 * i);
    if (value != want) {
      const std::string verdict = d.expect == AccessExpect::kOracle ? d.verdict : "";
      const char* kind = "missed COW";  // the frame changed under a reference its process dropped
      if (verdict == kind)
        trace(step, "missed COW (expected: known-bad)", now);
      else
        fail(step, kind, fmt::format("{} read {} but the frame it holds contained {} when {} unmapped it; another "
                                     "process wrote into it",
                                     who, value, want, pin.proc));
    } else if (d.expect == AccessExpect::kOracle) {
      verdict_missing(step, d.verdict, who, value);
    }
  }
  if (d.expect == AccessExpect::kValue && value != d.expected)
    fail(step, "value", fmt::format("{} read {}: expected {}", who, value, d.expected));
  trace(step, fmt::format("device read {}", value), now);
}

namespace {
mm::Advice advice_of(const std::string& a) {
  if (a == "dontneed") return mm::Advice::kDontNeed;
  if (a == "dontfork") return mm::Advice::kDontFork;
  if (a == "dofork") return mm::Advice::kDoFork;
  if (a == "wipeonfork") return mm::Advice::kWipeOnFork;
  return mm::Advice::kKeepOnFork;
}
}  // namespace

void ScenarioRunner::kernel_step(CpuId cpu, const Step& step) {
  std::visit(
      Overloaded{
          [&](const ProcessStep& p) {
            const mm::Pid pid = kernel_->create_process(cpu);
            probe_.syscall("process_create", port_->account(cpu));
            if (pid < 0) return syscall_result(step, "process creation", pid);
            procs_.emplace_back(p.name, pid);
            shadow_.create(p.name);
            kernel_->switch_to(cpu, pid);
          },
          [&](const ThreadStep& t) {  // clone(CLONE_VM): the thread runs the mm on its core
            ensure_current(cpu, pid_of(t.actor.proc));
            probe_.syscall("context_switch", port_->account(cpu));
          },
          [&](const MmapStep& m) {
            const mm::Pid pid = pid_of(m.proc);
            ensure_current(cpu, pid);
            const long r = kernel_->mmap(cpu, pid, m.at.value_or(0), m.pages * kPageSize, m.prot, m.at.has_value());
            probe_.syscall("mmap", port_->account(cpu));
            syscall_result(step, "mmap", r);
            if (r < 0) return;
            regions_.emplace_back(m.region, static_cast<VirtAddr>(r));
            shadow_.map_zero(m.proc, static_cast<VirtAddr>(r), m.pages * kPageSize);
          },
          [&](const ForkStep& f) {
            const mm::Pid parent = pid_of(f.parent);
            ensure_current(cpu, parent);
            if (f.pause) port_->arm_pause(cpu, mm::ArchPort::PreemptPoint::kForkBeforeWrprotect);
            const long child = kernel_->fork(cpu, parent);
            if (f.pause && port_->pause_armed(cpu)) {
              port_->disarm_pause(cpu);
              fail(step, "scenario", "fork never reached its pause point (no writable entry of a COW mapping to "
                                     "write-protect)");
            }
            probe_.syscall("fork", port_->account(cpu));
            syscall_result(step, "fork", child);
            if (child < 0) return;
            procs_.emplace_back(f.child, static_cast<mm::Pid>(child));
            shadow_.fork(f.parent, f.child);
            // MADV_DONTFORK ranges are absent in the child, MADV_WIPEONFORK ones read as zero.
            for (const auto& [proc, start, len, advice] : fork_advice_)
              if (proc == f.parent) shadow_.zero_range(f.child, start, len);
            for (const auto& [proc, start, len, advice] : std::vector(fork_advice_))
              if (proc == f.parent && advice == "wipeonfork") fork_advice_.emplace_back(f.child, start, len, advice);
          },
          [&](const ExitStep& e) {
            const mm::Pid pid = pid_of(e.proc);
            ensure_current(cpu, pid);
            detach_pins(e.proc, 0, ~0ull);
            kernel_->exit(cpu, pid);
            probe_.syscall("exit", port_->account(cpu));
            shadow_.exit(e.proc);
          },
          [&](const RangeStep& r) {
            const mm::Pid pid = pid_of(r.actor.proc);
            ensure_current(cpu, pid);
            const VirtAddr va = *resolve(r.addr);
            const std::uint64_t len = r.pages * kPageSize;
            long result = 0;
            if (r.kind == RangeStep::Kind::kMunmap) {
              detach_pins(r.actor.proc, va, len);
              result = kernel_->munmap(cpu, pid, va, len);
              probe_.syscall("munmap", port_->account(cpu));
              syscall_result(step, "munmap", result);
              if (result >= 0) shadow_.zero_range(r.actor.proc, va, len);
            } else if (r.kind == RangeStep::Kind::kMprotect) {
              result = kernel_->mprotect(cpu, pid, va, len, r.prot);
              probe_.syscall("mprotect", port_->account(cpu));
              syscall_result(step, "mprotect", result);
            } else if (r.kind == RangeStep::Kind::kNumaScan) {
              result = kernel_->numa_scan(cpu, pid, va, len);
              probe_.syscall("numa_scan", port_->account(cpu));
              syscall_result(step, "numa_scan", result);
            } else {
              if (r.advice == "dontneed") detach_pins(r.actor.proc, va, len);
              result = kernel_->madvise(cpu, pid, va, len, advice_of(r.advice));
              probe_.syscall("madvise", port_->account(cpu));
              syscall_result(step, "madvise", result);
              if (result < 0) return;
              if (r.advice == "dontneed") shadow_.zero_range(r.actor.proc, va, len);
              if (r.advice == "dontfork" || r.advice == "wipeonfork")
                fork_advice_.emplace_back(r.actor.proc, va, len, r.advice);
              const std::string undo = r.advice == "dofork" ? "dontfork" : r.advice == "keeponfork" ? "wipeonfork" : "";
              if (!undo.empty())
                fork_advice_.erase(std::remove_if(fork_advice_.begin(), fork_advice_.end(),
                                                  [&](const auto& a) {
                                                    return std::get<0>(a) == r.actor.proc && std::get<1>(a) == va &&
                                                           std::get<3>(a) == undo;
                                                  }),
                                   fork_advice_.end());
            }
          },
          [&](const SwapoutStep& s) {
            const mm::Pid pid = pid_of(s.actor.proc);
            ensure_current(cpu, pid);
            mm::SwapOutOptions options;
            options.async_writeback = s.async_writeback;
            options.arch_unmap_fails = s.arch_unmap_fails;
            if (s.pause) port_->arm_pause(cpu, mm::ArchPort::PreemptPoint::kSwapOutAfterPinCheck);
            const long r = kernel_->swap_out(cpu, pid, *resolve(s.addr), options);
            if (s.pause && port_->pause_armed(cpu)) {
              port_->disarm_pause(cpu);
              fail(step, "scenario", "swapout never reached its pause point (nothing unmapped past the pin check)");
            }
            probe_.syscall("swapout", port_->account(cpu));
            syscall_result(step, "swapout", r);
          },
          [&](const ClearRefsStep& c) {
            const mm::Pid pid = pid_of(c.actor.proc);
            ensure_current(cpu, pid);
            const long r = kernel_->clear_refs(cpu, pid);
            probe_.syscall("clear_refs", port_->account(cpu));
            syscall_result(step, "clear_refs", r);
          },
          [&](const SwapDeviceStep& s) {
            ensure_current(cpu, pid_of(s.actor.proc));
            if (s.kind == SwapDeviceStep::Kind::kSwapoff) {
              const long r = kernel_->swapoff(cpu);
              probe_.syscall("swapoff", port_->account(cpu));
              syscall_result(step, "swapoff", r);
            } else {
              const long r = kernel_->end_writeback(cpu);
              syscall_result(step, "writeback_done", r < 0 ? r : 0);
            }
          },
          [&](const PinStep& p) {
            const mm::Pid pid = pid_of(p.actor.proc);
            ensure_current(cpu, pid);
            const VirtAddr va = *resolve(p.addr);
            unsigned flags = p.get ? mm::FOLL_GET : mm::FOLL_PIN;
            if (p.write) flags |= mm::FOLL_WRITE;
            if (p.longterm) flags |= mm::FOLL_LONGTERM;
            if (p.force) flags |= mm::FOLL_FORCE;
            long r = 0;
            switch (p.mode) {
              case PinStep::Mode::kFast: r = kernel_->pin_user_pages_fast(cpu, pid, va, flags); break;
              case PinStep::Mode::kSlow: r = kernel_->pin_user_pages(cpu, pid, va, flags); break;
              case PinStep::Mode::kBegin: r = kernel_->gup_fast_begin(cpu, pid, va, flags); break;
            }
            probe_.syscall("pin", port_->account(cpu));
            syscall_result(step, p.get ? "get_user_pages" : "pin_user_pages", r);
            PinState& pin = pins_[p.name];
            pin.proc = p.actor.proc;
            pin.va = va;
            pin.id = r > 0 ? r : 0;
          },
          [&](const PinEndStep& p) {
            auto found = pins_.find(p.name);
            if (found == pins_.end() || found->second.id <= 0)
              return fail(step, "pin", fmt::format("pin_begin of {} was not made or failed; nothing to end", p.name));
            PinState& pin = found->second;
            const long r = kernel_->gup_fast_end(pin.id);
            probe_.syscall("pin", port_->account(cpu));
            syscall_result(step, "pin_user_pages_fast", r);
            pin.id = r > 0 ? r : 0;
          },
          [&](const UnpinStep& u) {
            auto found = pins_.find(u.name);
            if (found == pins_.end() || found->second.id <= 0)
              return fail(step, "pin", fmt::format("pin {} was never taken; nothing to unpin", u.name));
            PinState& pin = found->second;
            const long r = kernel_->unpin_user_page(cpu, pin.id);
            probe_.syscall("unpin", port_->account(cpu));
            syscall_result(step, "unpin_user_page", r);
            pin.id = 0;
          },
          [&](const auto&) { throw std::logic_error("kernel_step: not a kernel operation"); },
      },
      step.op);
}

}  // namespace mmusim::testbench
