#include "mmusim/machine/store_buffer.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace mmusim::machine {
namespace {

using stats::Unit;

}  // namespace

const char* drain_cause_name(DrainCause cause) {
  switch (cause) {
    case DrainCause::kFence: return "fence";
    case DrainCause::kLocked: return "locked";
    case DrainCause::kException: return "exception";
    case DrainCause::kInterrupt: return "interrupt";
    case DrainCause::kKernelEntry: return "kernel_entry";
    case DrainCause::kSerializing: return "serializing";
  }
  return "?";
}

StoreBuffer::Stats::Stats(stats::Group& parent)
    : group("sb", &parent),
      occupancy(group, "occupancy", Unit::kCount,
                "stores held by the buffer just after a store retired into it (one sample per "
                "retired store)"),
      forwards(group, "forwards", Unit::kCount,
               "loads whose every byte was forwarded from buffered stores"),
      partial_waits(group, "partial_waits", Unit::kCount,
                    "loads that overlapped buffered stores only in part and waited for them to "
                    "drain before reading memory"),
      partial_wait_cycles(group, "partial_wait_cycles", Unit::kCycles,
                          "cycles those loads waited for the overlapping stores to drain"),
      full_stalls(group, "full_stalls", Unit::kCount,
                  "stores that found the buffer full and stalled until its oldest store left"),
      full_stall_cycles(group, "full_stall_cycles", Unit::kCycles,
                        "cycles stores stalled on a full buffer"),
      drains_group("drains", &group),
      drains{{
          {drains_group, "fence", Unit::kCount, "MFENCEs that found stores to drain"},
          {drains_group, "locked", Unit::kCount,
           "locked operations that found stores to drain"},
          {drains_group, "exception", Unit::kCount,
           "#PF deliveries that found stores to drain"},
          {drains_group, "interrupt", Unit::kCount,
           "IPI handler entries that found stores to drain (HW4(b))"},
          {drains_group, "kernel_entry", Unit::kCount,
           "kernel entries (kKernel operations) that found stores to drain"},
          {drains_group, "serializing", Unit::kCount,
           "serializing instructions (MOV CR3, INVLPG, INVPCID) that found stores to drain"},
      }},
      drain_wait_cycles(group, "drain_wait_cycles", Unit::kCycles,
                        "cycles the core waited for forced drains (any cause) to complete"),
      stores_drained(group, "stores_drained", Unit::kCount,
                     "stores written from the buffer to memory") {}

StoreBuffer::StoreBuffer(const StoreBufferParams& params, PhysMem& memory, StoreSink* sink,
                         stats::Group& parent)
    : params_(params), mem_(memory), sink_(sink), stats_(parent) {
  assert(params.entries != 0 && params.drain_cycles != 0);
  std::size_t ring = 1;
  while (ring < params.entries) ring *= 2;
  entries_.resize(ring);
  ring_mask_ = static_cast<unsigned>(ring - 1);
  // retire() samples the occupancy after its store entered: 1 to capacity().
  stats_.occupancy.count_small_values(std::uint64_t{params.entries} + 1);
}

// A store found the buffer full: the oldest entry has not left yet (retire drained until `now`).
// Waits for it to leave; returns the stall.
Cycles StoreBuffer::wait_for_room(Cycles now) {
  const Cycles stall = entries_[head_].leaves - now;
  drain_until(now + stall);
  stats_.full_stalls.inc();
  stats_.full_stall_cycles.inc(stall);
  return stall;
}

// The byte-accurate path, for a load whose granules hold buffered stores.
StoreBuffer::LoadResult StoreBuffer::load_overlapping(PhysAddr pa, unsigned size, Cycles now) {
  // Youngest first: the first store to supply a byte is the youngest one covering it.
  std::uint8_t bytes[8] = {};
  const unsigned all = (1u << size) - 1;
  unsigned covered = 0;
  int youngest_overlap = -1;
  for (unsigned i = count_; i-- > 0 && covered != all;) {
    const BufferedStore& s = entries_[index(i)];
    if (s.pa >= pa + size || s.pa + s.size <= pa) continue;
    if (youngest_overlap < 0) youngest_overlap = static_cast<int>(i);
    for (unsigned b = 0; b < size; ++b) {
      const PhysAddr at = pa + b;
      if ((covered >> b) & 1u || at < s.pa || at >= s.pa + s.size) continue;
      bytes[b] = static_cast<std::uint8_t>(s.value >> (8 * (at - s.pa)));
      covered |= 1u << b;
    }
  }
  if (covered == all) {
    stats_.forwards.inc();
    LoadResult r;
    std::memcpy(&r.value, bytes, size);
    r.cycles = params_.forward_cycles;
    return r;
  }
  if (youngest_overlap < 0) return load_memory(pa, size, 0);  // the filter's slots collided
  // Partly covered: FIFO order means waiting for the youngest overlapping store drains every
  // older one too.
  const Cycles ready = entries_[index(static_cast<unsigned>(youngest_overlap))].leaves;
  drain_until(ready);
  stats_.partial_waits.inc();
  stats_.partial_wait_cycles.inc(ready - now);
  return load_memory(pa, size, ready - now);
}

Cycles StoreBuffer::drain_all(DrainCause cause, Cycles now) {
  drain_until(now);
  if (count_ == 0) return now;
  const Cycles done = youngest_leaves();
  drain_until(done);
  stats_.drains[static_cast<unsigned>(cause)].inc();
  stats_.drain_wait_cycles.inc(done - now);
  return done;
}

}  // namespace mmusim::machine
