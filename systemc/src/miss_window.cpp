#include "mmusim/machine/miss_window.h"

#include <algorithm>
#include <stdexcept>

namespace mmusim::machine {

using stats::Unit;

MissWindow::Stats::Stats(stats::Group& parent)
    : group("miss_window", &parent),
      walks_in_flight(group, "walks_in_flight", Unit::kCount,
                      "walks in flight on the core's walkers when a walk starts, that walk "
                      "included (one sample per walk)"),
      overlapped_loads(group, "overlapped_loads", Unit::kCount,
                       "loads still completing (their walk in flight) when the core went on "
                       "to its next operation"),
      walkers_busy_stalls(group, "walkers_busy_stalls", Unit::kCount,
                          "overlapped walks that took the last free walker, the core then "
                          "waiting for one to be free"),
      walkers_busy_stall_cycles(group, "walkers_busy_stall_cycles", Unit::kCycles,
                                "cycles the core waited because every walker was busy"),
      window_full_stalls(group, "window_full_stalls", Unit::kCount,
                         "operations that waited because core.miss_window_ops operations had "
                         "issued since the oldest incomplete overlapped load"),
      window_full_stall_cycles(group, "window_full_stall_cycles", Unit::kCycles,
                               "cycles those operations waited for that load to complete"),
      order_waits(group, "order_waits", Unit::kCount,
                  "ordering operations (store, locked, fence, kernel entry, wait, #PF, "
                  "interrupt, A/D-writing walk, program end) that found overlapped loads "
                  "incomplete"),
      order_wait_cycles(group, "order_wait_cycles", Unit::kCycles,
                        "cycles those operations waited for every overlapped load to complete") {}

MissWindow::MissWindow(unsigned max_walks, unsigned window_ops, stats::Group& parent)
    : walker_free_at_(max_walks, 0), window_ops_(window_ops), stats_(parent) {
  if (max_walks == 0 || window_ops == 0)
    throw std::invalid_argument("MissWindow: max_walks and window_ops must be nonzero");
}

// In order, as a reorder buffer retires: a younger load completed early stays until the older
// ones have.
void MissWindow::retire(Cycles now) {
  while (!outstanding_.empty() && outstanding_.front().done <= now) outstanding_.pop_front();
  pending_ = !outstanding_.empty();
}

Cycles MissWindow::issue(Cycles now) {
  retire(now);
  if (!outstanding_.empty() && issued_ + 1 - outstanding_.front().issued > window_ops_) {
    const Cycles until = outstanding_.front().done;
    stats_.window_full_stalls.inc();
    stats_.window_full_stall_cycles.inc(until - now);
    now = until;
    retire(now);
  }
  if (!outstanding_.empty()) ++issued_;
  return now;
}

Cycles MissWindow::settle(Cycles now) {
  if (outstanding_.empty()) return now;
  outstanding_.clear();
  pending_ = false;
  if (latest_done_ <= now) return now;
  stats_.order_waits.inc();
  stats_.order_wait_cycles.inc(latest_done_ - now);
  return latest_done_;
}

Cycles MissWindow::start_walk(Cycles now, Cycles cycles) {
  unsigned busy = 0;
  auto soonest = walker_free_at_.begin();
  for (auto it = walker_free_at_.begin(); it != walker_free_at_.end(); ++it) {
    if (*it > now) ++busy;
    if (*it < *soonest) soonest = it;
  }
  stats_.walks_in_flight.sample(busy + 1);
  *soonest = std::max(now, *soonest) + cycles;
  return *soonest;
}

Cycles MissWindow::walker_free(Cycles now) {
  const Cycles soonest = *std::min_element(walker_free_at_.begin(), walker_free_at_.end());
  if (soonest <= now) return now;
  stats_.walkers_busy_stalls.inc();
  stats_.walkers_busy_stall_cycles.inc(soonest - now);
  return soonest;
}

void MissWindow::overlap(Cycles done) {
  stats_.overlapped_loads.inc();
  outstanding_.push_back({done, issued_});
  pending_ = true;
  latest_done_ = outstanding_.size() == 1 ? done : std::max(latest_done_, done);
}

}  // namespace mmusim::machine
