// Memory-level parallelism of page walks on one core: walker.max_walks page walkers, and a window
// of core.miss_window_ops operations the core may issue while walks are outstanding.
//
// The core stays functional-first and in program order: every access translates (walks included)
// and reads or writes its data at issue, so values and faults do not depend on these settings.
// Only time does. A load whose walk succeeds without writing an A or D bit is *overlapped*: the
// core pays its TLB lookups and its data access as for any load, while the walk runs on a walker
// in the background; the load completes at walk end + data access. Every other walk blocks the
// core for its own latency (stores, fetches, locked operations, faulting walks, walks writing
// A/D), as before.
//
// The core waits:
// - after an overlapped walk took the last free walker, until the earliest walker is free
//   (stat walkers_busy_stall_cycles). So a walk never waits for a walker, and with max_walks = 1
//   every walk blocks the core: the timing of a single, blocking walker;
// - before an operation that would be the (miss_window_ops + 1)-th issued since the oldest
//   overlapped load that has not completed, until that load completes (window_full_*);
// - before an ordering operation, until every overlapped load has completed (order_wait_*): a
//   store (it retires into the store buffer in order after older loads, TSO), a locked
//   operation, a fence, a kernel entry, a kWait, the end of the program, a #PF delivery, an
//   interrupt, and a walk that writes A/D bits (a locked read-modify-write of the PTE).
//
// Limits: walks in flight do not contend for memory (each PTE read costs memory.read_cycles as
// alone); the core has no dependency information, so every load is taken as independent of the
// overlapped ones; a kCompute op counts as one window slot whatever its length; data accesses
// keep the blocking timing of the in-order core.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "mmusim/arch/types.h"
#include "mmusim/machine/machine_config.h"
#include "mmusim/stats/stats.h"

namespace mmusim::machine {

class MissWindow {
 public:
  // Registers its statistics in a group "miss_window" under `parent` (the core's group).
  MissWindow(unsigned max_walks, unsigned window_ops, stats::Group& parent);

  // An overlapped load has not completed yet (as far as the core's time has told it): the core
  // calls issue() or settle() before its next operation only then.
  bool pending() const { return pending_; }

  // A non-ordering operation issues at `now`: forgets the loads completed by then and counts the
  // operation in the window. Returns the cycle at which it may issue (after `now` when the
  // window is full: when the oldest overlapped load completes).
  Cycles issue(Cycles now);
  // An ordering operation at `now`: returns the cycle at which every overlapped load has
  // completed (`now` if they all have).
  Cycles settle(Cycles now);

  // A walk of `cycles` starts at `now` on the walker free soonest (free at `now`, which the core
  // guarantees by waiting in walker_free). Samples walks_in_flight; returns the walk's end.
  Cycles start_walk(Cycles now, Cycles cycles);
  // After an overlapped walk started at `now`: the cycle at which a walker is free (`now` unless
  // every walker is busy).
  Cycles walker_free(Cycles now);
  // An overlapped load, issued last, completes at `done` (> the core's time).
  void overlap(Cycles done);

  unsigned max_walks() const { return static_cast<unsigned>(walker_free_at_.size()); }

 private:
  struct Load {
    Cycles done;
    std::uint64_t issued;  // value of issued_ when the load issued
  };
  void retire(Cycles now);

  std::vector<Cycles> walker_free_at_;  // per walker: the cycle its current walk ends
  unsigned window_ops_;
  std::deque<Load> outstanding_;  // overlapped loads not known complete, oldest first
  bool pending_ = false;          // !outstanding_.empty(), one load for the per-operation test
  Cycles latest_done_ = 0;        // the latest completion among outstanding_
  std::uint64_t issued_ = 0;      // operations issued while a load was outstanding

  struct Stats {
    explicit Stats(stats::Group& parent);
    stats::Group group;
    stats::Distribution walks_in_flight;
    stats::Scalar overlapped_loads;
    stats::Scalar walkers_busy_stalls;
    stats::Scalar walkers_busy_stall_cycles;
    stats::Scalar window_full_stalls;
    stats::Scalar window_full_stall_cycles;
    stats::Scalar order_waits;
    stats::Scalar order_wait_cycles;
  } stats_;
};

}  // namespace mmusim::machine
