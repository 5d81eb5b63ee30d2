// MissWindow alone: walkers, the window, ordering points, each statistic on hand-computed cases.
// The core's use of it (8 missing loads, fences, identical values) is in miss_window_sc_test.cpp.
#include <gtest/gtest.h>

#include <stdexcept>

#include "mmusim/machine/miss_window.h"
#include "sc_test_support.h"

namespace mmusim::machine {
namespace {

using testing::count;
using testing::distribution;

TEST(MissWindow, WalksTakeTheWalkerFreeSoonestAndCountWalksInFlight) {
  stats::Group root("");
  MissWindow w(2, 16, root);
  EXPECT_EQ(w.start_walk(0, 100), 100u);
  EXPECT_EQ(w.walker_free(0), 0u) << "the second walker is free";
  EXPECT_EQ(w.start_walk(10, 100), 110u);
  EXPECT_EQ(w.walker_free(10), 100u) << "both busy: the first frees at 100";
  // At 100 the first walker is free again (its walk ended at 100), the second busy until 110.
  EXPECT_EQ(w.start_walk(100, 50), 150u);
  EXPECT_EQ(w.walker_free(100), 110u);
  EXPECT_EQ(w.walker_free(200), 200u);
  const stats::Distribution* d = distribution(root, "miss_window.walks_in_flight");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->count(), 3u);
  EXPECT_EQ(d->sum(), 1u + 2u + 2u);
  EXPECT_EQ(d->max(), 2u);
  EXPECT_EQ(count(root, "miss_window.walkers_busy_stalls"), 2u);
  EXPECT_EQ(count(root, "miss_window.walkers_busy_stall_cycles"), 90u + 10u);
}

TEST(MissWindow, OneWalkerMakesEveryWalkWaitForItself) {
  stats::Group root("");
  MissWindow w(1, 16, root);
  const Cycles end = w.start_walk(3, 125);
  EXPECT_EQ(end, 128u);
  EXPECT_EQ(w.walker_free(3), 128u) << "the only walker is busy: the core waits for the walk";
  EXPECT_EQ(count(root, "miss_window.walkers_busy_stall_cycles"), 125u);
}

TEST(MissWindow, TheWindowBoundsOperationsIssuedPastTheOldestLoad) {
  stats::Group root("");
  MissWindow w(4, 2, root);
  EXPECT_FALSE(w.pending());
  w.overlap(100);
  EXPECT_TRUE(w.pending());
  EXPECT_EQ(w.issue(10), 10u) << "first younger operation";
  EXPECT_EQ(w.issue(20), 20u) << "second: the window (2) is now full";
  EXPECT_EQ(w.issue(30), 100u) << "third waits for the load";
  EXPECT_FALSE(w.pending());
  EXPECT_EQ(count(root, "miss_window.window_full_stalls"), 1u);
  EXPECT_EQ(count(root, "miss_window.window_full_stall_cycles"), 70u);
  EXPECT_EQ(count(root, "miss_window.overlapped_loads"), 1u);
  // A load that completed by the time the next operation issues leaves no trace.
  w.overlap(150);
  EXPECT_EQ(w.issue(150), 150u);
  EXPECT_FALSE(w.pending());
  EXPECT_EQ(count(root, "miss_window.window_full_stalls"), 1u);
}

TEST(MissWindow, TheWindowCountsFromTheOldestIncompleteLoad) {
  stats::Group root("");
  MissWindow w(4, 3, root);
  w.overlap(100);          // load A
  EXPECT_EQ(w.issue(5), 5u);  // 1 past A
  w.overlap(40);           // load B (1 past A), done before A: retires after A, in order
  EXPECT_EQ(w.issue(6), 6u);  // 2 past A
  EXPECT_EQ(w.issue(50), 50u) << "3 past A; B done but A is not: both stay";
  EXPECT_TRUE(w.pending());
  EXPECT_EQ(w.issue(60), 100u) << "4 past A: waits for A";
  EXPECT_FALSE(w.pending()) << "A and B both retired at 100";
}

TEST(MissWindow, OrderingOperationsWaitForEveryOverlappedLoad) {
  stats::Group root("");
  MissWindow w(4, 16, root);
  EXPECT_EQ(w.settle(7), 7u) << "nothing outstanding";
  w.overlap(150);
  w.overlap(120);
  EXPECT_EQ(w.settle(40), 150u) << "the latest completion, not the youngest load's";
  EXPECT_FALSE(w.pending());
  w.overlap(300);
  EXPECT_EQ(w.settle(300), 300u) << "completed exactly now: no wait";
  EXPECT_EQ(count(root, "miss_window.order_waits"), 1u);
  EXPECT_EQ(count(root, "miss_window.order_wait_cycles"), 110u);
  EXPECT_EQ(count(root, "miss_window.overlapped_loads"), 3u);
}

TEST(MissWindow, ZeroWalkersOrWindowIsRefused) {
  stats::Group root("");
  EXPECT_THROW(MissWindow(0, 4, root), std::invalid_argument);
  stats::Group root2("");
  EXPECT_THROW(MissWindow(4, 0, root2), std::invalid_argument);
}

}  // namespace
}  // namespace mmusim::machine
