#include "mmusim/testbench/scenario.h"

#include <gtest/gtest.h>

namespace mmusim::testbench {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_scenario(text, "t.scn");
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "";
}

TEST(ScenarioParser, ParsesEveryOperation) {
  const Scenario s = parse_scenario(
      "process P   # comment\n"
      "\n"
      "mmap P A 4 prot=r at=0x10000\n"
      "write P A+1p 0x2a size=4\n"
      "read P A+0x10 expect 7 size=2\n"
      "fork P C\n"
      "read C 0x1000 expect SIGSEGV\n"
      "exit P\n"
      "expect mm.copies >= 1\n",
      "t.scn");
  ASSERT_EQ(s.steps.size(), 8u);
  EXPECT_EQ(s.steps[0].text, "process P");
  const auto& m = std::get<MmapStep>(s.steps[1].op);
  EXPECT_EQ(m.pages, 4u);
  EXPECT_EQ(m.prot, 1u);
  EXPECT_EQ(*m.at, 0x10000u);
  EXPECT_EQ(s.steps[1].where.line, 3);
  const auto& w = std::get<AccessStep>(s.steps[2].op);
  EXPECT_TRUE(w.is_write);
  EXPECT_EQ(w.addr.region, "A");
  EXPECT_EQ(w.addr.offset, 4096u);
  EXPECT_EQ(w.value, 42u);
  EXPECT_EQ(w.size, 4u);
  const auto& r = std::get<AccessStep>(s.steps[3].op);
  EXPECT_EQ(r.expect, AccessExpect::kValue);
  EXPECT_EQ(r.expected, 7u);
  EXPECT_EQ(std::get<AccessStep>(s.steps[5].op).expect, AccessExpect::kSignal);
  EXPECT_EQ(std::get<AccessStep>(s.steps[5].op).signal, "SIGSEGV");
  const auto& e = std::get<ExpectStep>(s.steps[7].op);
  EXPECT_EQ(e.stat, "mm.copies");
  EXPECT_EQ(e.cmp, Compare::kGe);
  EXPECT_EQ(e.number, 1.0);
}

TEST(ScenarioParser, ErrorsNameFileLineColumnAndReason) {
  EXPECT_EQ(error_of("process P\nfly P\n"),
            "t.scn:2:1: error: unknown operation 'fly' (expected process, mmap, read, write, fork, exit or expect)");
  EXPECT_EQ(error_of("process P\nmmap P A 1\nwrite P A 0x\n"),
            "t.scn:3:11: error: bad number '0x' for value (decimal or 0x-hex, at most 64 bits)");
  EXPECT_EQ(error_of("process P\nmmap P A 99999999999999999999\n"),
            "t.scn:2:10: error: bad number '99999999999999999999' for page count (decimal or 0x-hex, at most 64 bits)");
  EXPECT_EQ(error_of("mmap P A 1\n"), "t.scn:1:6: error: undefined process 'P'");
  EXPECT_EQ(error_of("process P\nread P A\n"), "t.scn:2:8: error: undefined region 'A'");
  EXPECT_EQ(error_of("process P\nprocess P\n"), "t.scn:2:9: error: process 'P' is already defined");
  EXPECT_EQ(error_of("process P\nmmap P A 1\nmmap P A 1\n"), "t.scn:3:8: error: region 'A' is already defined");
  EXPECT_EQ(error_of("process P\nexit P\nexit P\n"), "t.scn:3:6: error: process 'P' is no longer alive (exited at line 2)");
  EXPECT_EQ(error_of("process P\nmmap P A 1\nwrite P A 1 expect 3\n"),
            "t.scn:3:20: error: a write can only expect a signal (SIGSEGV, SIGBUS or OOM-kill)");
  EXPECT_EQ(error_of("process P\nmmap P A 1\nwrite P A 256 size=1\n"),
            "t.scn:3:11: error: value 256 does not fit in 1 bytes");
  EXPECT_EQ(error_of("process P\nmmap P A 1\nread P A+4\n"), "t.scn:3:8: error: address is not 8-byte aligned");
  EXPECT_EQ(error_of("process P\nmmap P A 0\n"), "t.scn:2:10: error: page count must be between 1 and 2^35");
  EXPECT_EQ(error_of("process P\nmmap P A 1 at=0x1001\n"), "t.scn:2:12: error: at= must be page-aligned");
  EXPECT_EQ(error_of("process P\nmmap P A 1 color=red\n"), "t.scn:2:12: error: unknown option 'color'");
  EXPECT_EQ(error_of("expect mm.copies ~ 1\n"),
            "t.scn:1:18: error: bad comparison '~' (==, !=, <, <=, >, >=)");
  EXPECT_EQ(error_of("process P extra\n"), "t.scn:1:11: error: unexpected 'extra'");
  EXPECT_EQ(error_of("process 1P\n"), "t.scn:1:9: error: bad process name '1P' (letters, digits, _)");
}

TEST(ScenarioParser, ExpectedSigsegvEndsTheProcess) {
  EXPECT_EQ(error_of("process P\nread P 0x1000 expect SIGSEGV\nread P 0x1000\n"),
            "t.scn:3:6: error: process 'P' is no longer alive (killed by the expected SIGSEGV at line 2)");
}

TEST(ScenarioParser, UnreadableFileIsAnError) {
  try {
    load_scenario("/nonexistent/x.scn");
    FAIL() << "no error";
  } catch (const ScenarioError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/x.scn: error: cannot open scenario file");
  }
}

}  // namespace
}  // namespace mmusim::testbench

namespace mmusim::testbench {
namespace {

TEST(ParseU64, AcceptsDecimalAndHexOnly) {
  EXPECT_EQ(parse_u64("0"), 0u);
  EXPECT_EQ(parse_u64("4096"), 4096u);
  EXPECT_EQ(parse_u64("0x1F"), 31u);
  EXPECT_EQ(parse_u64("0xffffffffffffffff"), UINT64_MAX);
  EXPECT_EQ(parse_u64("18446744073709551616"), std::nullopt);  // 2^64
  EXPECT_EQ(parse_u64(""), std::nullopt);
  EXPECT_EQ(parse_u64("0x"), std::nullopt);
  EXPECT_EQ(parse_u64("-1"), std::nullopt);
  EXPECT_EQ(parse_u64("12x"), std::nullopt);
  EXPECT_EQ(parse_u64(" 1"), std::nullopt);
}

}  // namespace
}  // namespace mmusim::testbench
