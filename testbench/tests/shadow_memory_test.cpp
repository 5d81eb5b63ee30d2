#include "mmusim/testbench/shadow_memory.h"

#include <gtest/gtest.h>

namespace mmusim::testbench {
namespace {

constexpr VirtAddr kA = 0x7f0000000000;

TEST(ShadowMemory, FreshMappingsReadZeroAndStoresAreByteAccurate) {
  ShadowMemory s;
  s.create("P");
  s.map_zero("P", kA, kPageSize);
  EXPECT_EQ(s.expected("P", kA, 8), 0u);
  s.store("P", kA + 1, 0xabcd, 2);
  EXPECT_EQ(s.expected("P", kA, 4), 0xabcd00u);
  EXPECT_EQ(s.check_load("P", kA, 4, 0xabcd00).kind, OracleVerdict::Kind::kOk);
}

TEST(ShadowMemory, ChildSeesParentStoresBeforeForkOnly) {
  ShadowMemory s;
  s.create("P");
  s.store("P", kA, 1, 8);
  s.fork("P", "C");
  s.store("P", kA, 2, 8);
  EXPECT_EQ(s.expected("C", kA, 8), 1u);
  EXPECT_EQ(s.expected("P", kA, 8), 2u);
}

TEST(ShadowMemory, ValueStoredByAnotherProcessIsAMissedCow) {
  ShadowMemory s;
  s.create("P");
  s.store("P", kA, 1, 8);
  s.fork("P", "C");
  s.store("P", kA, 2, 8);
  const OracleVerdict v = s.check_load("C", kA, 8, 2);
  EXPECT_EQ(v.kind, OracleVerdict::Kind::kMissedCow);
  EXPECT_EQ(v.culprit, "P");
  EXPECT_EQ(v.expected, 1u);
}

TEST(ShadowMemory, ExitedProcessesStillExplainAMissedCow) {
  ShadowMemory s;
  s.create("P");
  s.fork("P", "C");
  s.store("C", kA, 5, 8);
  s.exit("C");
  EXPECT_EQ(s.check_load("P", kA, 8, 5).kind, OracleVerdict::Kind::kMissedCow);
}

TEST(ShadowMemory, UnexplainedValueIsALostStore) {
  ShadowMemory s;
  s.create("P");
  s.create("Q");  // never stored anything: must not be blamed for a zero
  s.store("P", kA, 3, 8);
  EXPECT_EQ(s.check_load("P", kA, 8, 0).kind, OracleVerdict::Kind::kLostStore);
  EXPECT_EQ(s.check_load("P", kA, 8, 9).kind, OracleVerdict::Kind::kLostStore);
}

TEST(ShadowMemory, NewMappingForgetsOldContents) {
  ShadowMemory s;
  s.create("P");
  s.store("P", kA, 3, 8);
  s.map_zero("P", kA, kPageSize);
  EXPECT_EQ(s.expected("P", kA, 8), 0u);
}

TEST(ShadowMemory, ZerosIntoAnUntouchedPageHoldNothing) {
  ShadowMemory s;
  s.create("P");
  for (int i = 0; i < 1000; ++i) s.store("P", kA + static_cast<VirtAddr>(i) * kPageSize, 0, 8);
  EXPECT_EQ(s.pages_held("P"), 0u);
  EXPECT_EQ(s.check_load("P", kA, 8, 0).kind, OracleVerdict::Kind::kOk);
  EXPECT_EQ(s.check_load("P", kA, 8, 1).kind, OracleVerdict::Kind::kLostStore);
  // Once the page holds data, a zero store is a store like any other (and COWs a shared page).
  s.store("P", kA, 5, 8);
  s.fork("P", "C");
  s.store("P", kA, 0, 8);
  EXPECT_EQ(s.pages_held("P"), 1u);
  EXPECT_EQ(s.expected("P", kA, 8), 0u);
  EXPECT_EQ(s.expected("C", kA, 8), 5u) << "the child keeps its copy";
  s.store("P", kA + kPageSize, 0x100, 1);  // only the low byte is stored: zero
  EXPECT_EQ(s.pages_held("P"), 1u);
}

}  // namespace
}  // namespace mmusim::testbench
