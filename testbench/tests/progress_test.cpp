#include "mmusim/testbench/progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace tb = mmusim::testbench;

namespace {
struct FakeClock {
  double t = 100.0;
  std::function<double()> fn() {
    return [this] { return t; };
  }
};
}  // namespace

TEST(Progress, ModeNames) {
  EXPECT_EQ(tb::progress_mode("auto"), tb::ProgressMode::kAuto);
  EXPECT_EQ(tb::progress_mode("always"), tb::ProgressMode::kAlways);
  EXPECT_EQ(tb::progress_mode("never"), tb::ProgressMode::kNever);
  EXPECT_FALSE(tb::progress_mode("sometimes"));
}

TEST(Progress, Format) {
  EXPECT_EQ(tb::ProgressLine::format(1200, 5000, 3'400'000, 12.1), "[mmusim] step 1200/5000, 3.4M cycles, 12.1 s");
  EXPECT_EQ(tb::ProgressLine::format(1, 2, 999, 2.0), "[mmusim] step 1/2, 999 cycles, 2.0 s");
}

TEST(Progress, NothingBeforeTheDelayThenPlainLinesEveryInterval) {
  FakeClock clock;
  std::ostringstream out;
  tb::ProgressLine p(tb::ProgressMode::kAlways, out, false, {}, clock.fn());
  clock.t += 1.9;
  p.update(1, 10, 100);
  EXPECT_EQ(out.str(), "");
  clock.t += 0.2;  // 2.1 s
  p.update(2, 10, 2000);
  EXPECT_EQ(out.str(), "[mmusim] step 2/10, 2.0k cycles, 2.1 s\n");
  clock.t += 5;  // within the 10 s interval
  p.update(3, 10, 3000);
  EXPECT_EQ(out.str(), "[mmusim] step 2/10, 2.0k cycles, 2.1 s\n");
  clock.t += 5.5;
  p.update(4, 10, 4000);
  EXPECT_EQ(out.str(), "[mmusim] step 2/10, 2.0k cycles, 2.1 s\n[mmusim] step 4/10, 4.0k cycles, 12.6 s\n");
  p.finish();  // plain lines are complete already
  EXPECT_EQ(out.str().back(), '\n');
}

TEST(Progress, TerminalRewritesTheLineAndEndsIt) {
  FakeClock clock;
  std::ostringstream out;
  {
    tb::ProgressLine p(tb::ProgressMode::kAuto, out, true, {}, clock.fn());
    clock.t += 3;
    p.update(5, 9, 1);
    EXPECT_EQ(out.str(), "\r[mmusim] step 5/9, 1 cycles, 3.0 s\x1b[K");
  }  // the destructor ends the line
  EXPECT_EQ(out.str().back(), '\n');
}

TEST(Progress, AutoIsSilentOffATerminalAndNeverIsSilent) {
  FakeClock clock;
  std::ostringstream a, n;
  tb::ProgressLine pa(tb::ProgressMode::kAuto, a, false, {}, clock.fn());
  tb::ProgressLine pn(tb::ProgressMode::kNever, n, true, {}, clock.fn());
  clock.t += 60;
  pa.update(1, 1, 1);
  pn.update(1, 1, 1);
  EXPECT_EQ(a.str(), "");
  EXPECT_EQ(n.str(), "");
}
