#include "mmusim/machine/interconnect.h"

#include <algorithm>

#include "mmusim/machine/core.h"

namespace mmusim::machine {
namespace {

using stats::Unit;

template <typename F>
void for_each_cpu(std::uint64_t mask, F f) {
  for (; mask != 0; mask &= mask - 1) f(static_cast<CpuId>(__builtin_ctzll(mask)));
}

}  // namespace

Interconnect::Stats::Stats(stats::Group& parent)
    : group("interconnect", &parent),
      shootdowns(group, "shootdowns", Unit::kCount,
                 "shootdowns run (Machine::shootdown calls with at least one target)"),
      ipis_sent(group, "ipis_sent", Unit::kCount,
                "shootdown IPIs sent (one per target of a kIpi shootdown)"),
      invlpgb_instructions(group, "invlpgb_instructions", Unit::kCount,
                           "INVLPGB instructions issued by kInvlpgb shootdowns (one per page, one "
                           "per whole-PCID or global flush)"),
      initiator_latency(group, "initiator_latency", Unit::kCycles,
                        "cycles from a shootdown call to its return on the initiator (one sample "
                        "per shootdown)"),
      targets(group, "targets", Unit::kCount, "target CPUs of each shootdown"),
      pages(group, "pages", Unit::kPages,
            "pages named by each page-list shootdown (whole-PCID and global flushes are not "
            "sampled)") {}

Interconnect::Interconnect(const MachineConfig& config, stats::Group& parent)
    : config_(config), stats_(parent) {}

Cycles Interconnect::shootdown(Core& initiator, std::uint64_t targets, const Invalidation& inv) {
  // Synchronize first: every other core's local time is then at least the initiator's, so an
  // IPI never arrives in a target's past, nor an INVLPGB land before the call.
  initiator.sync();
  const Cycles latency = config_.interconnect.mechanism == ShootdownMechanism::kIpi
                             ? by_ipi(initiator, targets, inv)
                             : by_invlpgb(initiator, targets, inv);
  stats_.shootdowns.inc();
  stats_.initiator_latency.sample(latency);
  stats_.targets.sample(static_cast<std::uint64_t>(__builtin_popcountll(targets)));
  if (inv.kind == Invalidation::Kind::kPages) stats_.pages.sample(inv.pages.size());
  return latency;
}

Cycles Interconnect::by_ipi(Core& initiator, std::uint64_t targets, const Invalidation& inv) {
  const InterconnectParams& ic = config_.interconnect;
  const Cycles start = initiator.now();
  ShootdownRequest request;
  request.initiator = &initiator;
  request.inv = &inv;
  request.remaining = static_cast<unsigned>(__builtin_popcountll(targets));
  request.done_at = start;
  for_each_cpu(targets, [&](CpuId cpu) {
    initiator.advance(ic.ipi_send_cycles);
    cores_[cpu]->post_ipi(initiator.now() + ic.ipi_delivery_cycles, request);
    stats_.ipis_sent.inc();
  });
  initiator.wait_for_acks(request);
  return initiator.now() - start;
}

Cycles Interconnect::by_invlpgb(Core& initiator, std::uint64_t targets,
                                const Invalidation& inv) {
  const InterconnectParams& ic = config_.interconnect;
  const Cycles start = initiator.now();
  const std::uint64_t instructions = invlpgb_instructions(inv);
  stats_.invlpgb_instructions.inc(instructions);
  const Cycles issued = start + ic.invlpgb_issue_cycles * instructions;
  Cycles end = issued + ic.tlbsync_cycles;
  Cycles position = 0;
  for_each_cpu(targets, [&](CpuId cpu) {
    Core& target = *cores_[cpu];
    apply_invalidation(target.mmu(), inv);
    Cycles done = issued + ic.invlpgb_per_target_cycles * ++position;
    // HW4(b) without an interrupt: the stores the target retired before the invalidation (all
    // that its buffer holds now) drain at their own rate; completion waits for the last one.
    StoreBuffer& sb = target.store_buffer();
    if (!sb.empty()) {
      done = std::max(done, sb.youngest_leaves());
      sb.drain_until(done);
    }
    end = std::max(end, done);
  });
  initiator.advance(end - start);
  return end - start;
}

}  // namespace mmusim::machine
