// The path remote TLB invalidations take between cores (architecture.md §2, anchors.md B.1).
//
// kIpi (x86 Linux, native_flush_tlb_multi): the initiator writes the ICR once per target
// (ipi_send_cycles each, serially); IPI k arrives ipi_delivery_cycles after its send; the target
// takes it at its next interrupt point (core.h), pays ipi_handler_entry_cycles (the entry drains
// its store buffer, HW4(b)), the invalidation (invalidation.h), ipi_handler_exit_cycles, and
// acks; the ack is visible to the initiator ipi_ack_cycles later. The initiator waits for every
// ack, taking interrupts meanwhile. With idle targets and n targets, from the call at T0:
//   target k (0-based, ascending CPU) takes its IPI at  T0 + (k+1)*send + delivery,
//   stolen on each target  = entry + invalidation + exit (+ the wait for its store buffer to
//                            drain, which the entry includes: 0 when it is empty),
//   initiator latency      = n*send + delivery + entry + invalidation + exit + ack.
// A busy target takes it at its next interrupt point P >= arrival instead: its ack is visible at
// P + stolen + ack, and the latency is the latest ack minus T0.
//
// kInvlpgb (AMD INVLPGB + TLBSYNC): no interrupt. The initiator issues one INVLPGB per
// INVLPG-equivalent (invlpgb_issue_cycles each: one per page, one for a PCID or everything);
// the invalidation completes on target i (0-based among the targets, ascending CPU) at
//   C_i = T0 + issue*instructions + per_target*(i+1),
// or later, when the target's store buffer has drained every store it retired before the
// invalidation (HW4(b); the target loses no cycles). The initiator's TLBSYNC ends at
//   max(T0 + issue*instructions + tlbsync, max_i C_i),
// and that minus T0 is the latency. IF is ignored (HW5 does not hold: the OS must not rely on
// interrupts-off to hold this mechanism off).
//
// The invalidation takes effect in the targets' TLBs when the target takes the IPI (kIpi) or at
// the shootdown call (kInvlpgb: the targets' local times are then at least the call's).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "mmusim/arch/types.h"
#include "mmusim/machine/invalidation.h"
#include "mmusim/machine/machine_config.h"
#include "mmusim/stats/stats.h"

namespace mmusim::machine {

class Core;

class Interconnect {
 public:
  // Registers its statistics in a child group "interconnect" of `parent`.
  Interconnect(const MachineConfig& config, stats::Group& parent);
  Interconnect(const Interconnect&) = delete;
  Interconnect& operator=(const Interconnect&) = delete;

  // The cores, indexed by CpuId (set once, after they are built).
  void attach(std::vector<Core*> cores) { cores_ = std::move(cores); }

  // Runs one shootdown from `initiator`'s thread to the CPUs of `targets` (a mask that the
  // caller has checked: not the initiator, only existing CPUs, nonzero). Advances the
  // initiator's time to the end of the shootdown and returns the latency in cycles.
  Cycles shootdown(Core& initiator, std::uint64_t targets, const Invalidation& inv);

 private:
  Cycles by_ipi(Core& initiator, std::uint64_t targets, const Invalidation& inv);
  Cycles by_invlpgb(Core& initiator, std::uint64_t targets, const Invalidation& inv);

  const MachineConfig& config_;
  std::vector<Core*> cores_;

  struct Stats {
    explicit Stats(stats::Group& parent);
    stats::Group group;
    stats::Scalar shootdowns;
    stats::Scalar ipis_sent;
    stats::Scalar invlpgb_instructions;
    stats::Distribution initiator_latency;
    stats::Distribution targets;
    stats::Distribution pages;
  } stats_;
};

}  // namespace mmusim::machine
