// Core: local time and the quantum keeper, sleeping, interruptible compute, and IPIs (taking them
// on a target, waiting for acks on an initiator).
#include <algorithm>

#include "mmusim/machine/core.h"

namespace mmusim::machine {

// ---- time ----

sc_core::sc_time Core::to_time(Cycles c) const {
  return sc_core::sc_time::from_value(clock_.value() * c);
}

Cycles Core::sc_now_cycles() const { return sc_core::sc_time_stamp().value() / clock_.value(); }

void Core::restart_quantum() {
  qk_.reset();
  quantum_end_ = qk_.next_sync_point().value() / clock_.value();
}

void Core::sync() {
  report_completions();  // other cores may run now
  qk_.set(to_time(now_) - sc_core::sc_time_stamp());
  suspend();
  qk_.sync();
  resume();
  restart_quantum();
}

// A sync that an interrupt may cut short: returns the cycle at which the core woke (< now_ if an
// interrupt arrived first). The local time is left to the caller.
Cycles Core::sync_interruptible() {
  report_completions();  // other cores may run now
  const sc_core::sc_time until = to_time(now_);
  suspend();
  sc_core::wait(until - sc_core::sc_time_stamp(), irq_event_);
  resume();
  restart_quantum();
  return sc_now_cycles();
}

// kCompute: the work runs to the end of the quantum at a time; an interrupt arriving during a
// chunk is taken at its arrival, and the rest of the chunk runs after the handler.
void Core::compute(Cycles cycles) {
  Cycles remaining = cycles;
  while (remaining != 0) {
    if (interrupt_due()) take_interrupts();
    if (now_ + remaining < quantum_end_) {
      now_ += remaining;
      return;
    }
    const Cycles from = now_;
    const Cycles step = quantum_end_ > now_ ? quantum_end_ - now_ : 0;
    now_ += step;
    remaining -= step;
    const Cycles woke = sync_interruptible();
    if (woke < now_) {
      // An interrupt (HW5: only while IF is set) arrived before the chunk ended: the work after
      // its arrival has not been done yet.
      const Cycles at = std::max(woke, from);
      remaining += now_ - at;
      now_ = at;
    }
  }
}

// Sleeps until something is due: an interrupt, or (until_wake, a kWait) a Machine::wake. Drains
// the store buffer at its own rate meanwhile; those drains do not move the core's time.
void Core::sleep(bool until_wake) {
  const Cycles start = now_;
  sync();
  sleeping_ = until_wake;
  for (;;) {
    const Cycles t = std::max(now_, sc_now_cycles());
    sb_.drain_until(t);
    if (irq_due_at_ <= t) {
      now_ = t;
      break;
    }
    if (until_wake && wake_pending_) {
      wake_pending_ = false;
      now_ = std::max(t, wake_at_);
      break;
    }
    suspend();
    if (!sb_.empty())
      sc_core::wait(to_time(std::max(t, sb_.oldest_leaves())) - sc_core::sc_time_stamp(),
                    irq_event_ | wake_event_);
    else
      sc_core::wait(irq_event_ | wake_event_);
    resume();
  }
  sleeping_ = false;
  restart_quantum();
  if (until_wake) stats_.wait_cycles.inc(now_ - start);
}

void Core::wake(Cycles at) {
  if (!wake_pending_ || at < wake_at_) wake_at_ = at;
  wake_pending_ = true;
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const sc_core::sc_time when = to_time(at);
  wake_event_.notify(when > now ? when - now : sc_core::SC_ZERO_TIME);
}

// ---- interrupts ----

void Core::set_irqs_enabled(bool enabled) {
  irqs_enabled_ = enabled;
  update_irq_due();
  rearm_irq_event();
}

void Core::update_irq_due() {
  Cycles earliest = kNever;
  for (std::uint64_t m = pending_mask_; m != 0; m &= m - 1)
    earliest = std::min(earliest, pending_[static_cast<unsigned>(__builtin_ctzll(m))].arrival);
  irq_due_at_ = irqs_enabled_ ? earliest : kNever;
}

// The irq event fires at the earliest pending arrival, so that a sleeping or computing core
// wakes for it. An sc_event keeps only its earliest notification: re-armed after every change.
void Core::rearm_irq_event() {
  if (irq_due_at_ == kNever) return;
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const sc_core::sc_time when = to_time(irq_due_at_);
  irq_event_.notify(when > now ? when - now : sc_core::SC_ZERO_TIME);
}

void Core::post_ipi(Cycles arrival, ShootdownRequest& request) {
  const CpuId from = request.initiator->id();
  pending_[from] = PendingIpi{arrival, &request};
  pending_mask_ |= 1ull << from;
  update_irq_due();
  rearm_irq_event();
}

// Takes every due IPI, earliest arrival first (ties: lowest initiator), one handler each.
void Core::take_interrupts() {
  while (interrupt_due()) {
    unsigned pick = kMaxCores;
    for (std::uint64_t m = pending_mask_; m != 0; m &= m - 1) {
      const unsigned i = static_cast<unsigned>(__builtin_ctzll(m));
      if (pick == kMaxCores || pending_[i].arrival < pending_[pick].arrival) pick = i;
    }
    const PendingIpi ipi = pending_[pick];
    pending_mask_ &= ~(1ull << pick);
    update_irq_due();
    handle_ipi(ipi);
  }
  rearm_irq_event();
}

// Linux's flush_tlb_func as the IPI handler: interrupt entry (which drains the store buffer,
// HW4(b): every store translated through an entry about to be dropped is visible before the
// ack), the invalidation, iret, then the ack, visible to the initiator ipi_ack_cycles later.
void Core::handle_ipi(const PendingIpi& ipi) {
  const InterconnectParams& ic = config_.interconnect;
  settle_walks();  // taken at an instruction boundary: the older accesses complete first
  const Cycles start = now_;
  drain_store_buffer(DrainCause::kInterrupt);
  advance(ic.ipi_handler_entry_cycles);
  apply_invalidation(mmu_, *ipi.request->inv);
  advance(invalidation_cycles(config_.core, *ipi.request->inv));
  advance(ic.ipi_handler_exit_cycles);
  const Cycles stolen = now_ - start;
  stats_.ipis_received.inc();
  stats_.stolen_cycles.inc(stolen);
  stats_.stolen_per_ipi.sample(stolen);
  ipi.request->initiator->acked(*ipi.request, now_ + ic.ipi_ack_cycles);
}

void Core::acked(ShootdownRequest& request, Cycles visible) {
  --request.remaining;
  request.done_at = std::max(request.done_at, visible);
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const sc_core::sc_time when = to_time(visible);
  ack_event_.notify(when > now ? when - now : sc_core::SC_ZERO_TIME);
}

// The initiator spins on the acks with interrupts enabled, as Linux does in
// smp_call_function_many_cond, so two CPUs shooting each other down both make progress.
void Core::wait_for_acks(ShootdownRequest& request) {
  in_flight_ = &request;
  for (;;) {
    if (interrupt_due()) {
      take_interrupts();
      continue;
    }
    if (request.remaining == 0 && now_ >= request.done_at) break;
    sync();
    suspend();
    if (request.remaining == 0)
      sc_core::wait(to_time(request.done_at) - sc_core::sc_time_stamp(), irq_event_);
    else
      sc_core::wait(ack_event_ | irq_event_);
    resume();
    now_ = std::max(now_, sc_now_cycles());
  }
  in_flight_ = nullptr;
  restart_quantum();
}

void Core::relax(Cycles cycles) {
  const Cycles until = now_ + cycles;
  for (;;) {
    if (interrupt_due()) {
      take_interrupts();
      continue;
    }
    if (now_ >= until) break;
    sync();
    suspend();
    sc_core::wait(to_time(until) - sc_core::sc_time_stamp(), irq_event_);
    resume();
    now_ = std::max(now_, sc_now_cycles());
  }
  restart_quantum();
}

}  // namespace mmusim::machine
