#include "mmusim/testbench/scenario.h"

#include <gtest/gtest.h>

#include <cerrno>

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
            "t.scn:2:1: error: unknown operation 'fly' (process, thread, mmap, read, write, fetch, prefetch, fork, resume, exit, clear_refs, numa_scan, "
            "munmap, mprotect, madvise, swapout, swapoff, writeback_done, pin, get, pin_begin, pin_end, unpin, "
            "dma_read, dma_write, fence, "
            "expect, known-bad)");
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
            "t.scn:3:20: error: a write or fetch can only expect a signal (SIGSEGV, SIGBUS or OOM-kill)");
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

TEST(ScenarioParser, ThreadsPinsAndRangesResolveStatically) {
  const Scenario s = parse_scenario(
      "process P\nthread P.t2 cpu=3\nmmap P A 4\nwrite P.t2 A 1 buffered\npin P A as X rw longterm\n"
      "pin_begin P.t2 A+1p as Y\nswapout P A expect EBUSY\npin_end Y\ndma_write X 5 offset=8 size=4\n"
      "dma_read Y expect wrong-COW\nmprotect P A+2p prot=r\nmadvise P.t2 A dontneed pages=1\n"
      "expect pin X consistent\nunpin X\nfork P.t2 C cpu=2\nread C A expect missed-COW\nknown-bad L4 demo\n",
      "t.scn");
  EXPECT_EQ(s.cores, 4u);
  EXPECT_EQ(s.known_bad, "L4 demo");
  EXPECT_EQ(s.steps[1].cpu, 3u);
  EXPECT_TRUE(std::get<AccessStep>(s.steps[3].op).buffered);
  EXPECT_EQ(s.steps[3].cpu, 3u);
  const auto& pin = std::get<PinStep>(s.steps[4].op);
  EXPECT_TRUE(pin.write && pin.longterm && !pin.get && pin.mode == PinStep::Mode::kFast);
  EXPECT_EQ(std::get<PinStep>(s.steps[5].op).mode, PinStep::Mode::kBegin);
  EXPECT_EQ(s.steps[6].expect_errno, EBUSY);
  EXPECT_EQ(s.steps[7].cpu, 3u);  // pin_end runs where pin_begin did
  const auto& dma = std::get<DmaStep>(s.steps[8].op);
  EXPECT_EQ(dma.offset, 8u);
  EXPECT_EQ(dma.size, 4u);
  EXPECT_EQ(std::get<DmaStep>(s.steps[9].op).verdict, "wrong COW");
  EXPECT_EQ(std::get<RangeStep>(s.steps[10].op).pages, 2u);  // to the end of the region
  EXPECT_EQ(std::get<RangeStep>(s.steps[11].op).advice, "dontneed");
  EXPECT_EQ(s.steps[14].cpu, 3u);  // fork runs on the forking thread's core
  EXPECT_EQ(std::get<AccessStep>(s.steps[15].op).signal, "missed COW");
  EXPECT_EQ(s.steps[15].cpu, 2u);  // the child's main thread
}

TEST(ScenarioParser, NewStepErrors) {
  EXPECT_EQ(error_of("process P\nread P.t2 0x1000\n"),
            "t.scn:2:6: error: undefined thread 'P.t2' (declare it with: thread P.t2 cpu=N)");
  EXPECT_EQ(error_of("process P\nthread P.t2\n"), "t.scn:2:8: error: a thread needs a core: thread PROC.NAME cpu=N");
  EXPECT_EQ(error_of("process P cpu=64\n"), "t.scn:1:11: error: cpu=64 is outside 0..63");
  EXPECT_EQ(error_of("process P\nmmap P A 1\npin P A as X\npin P A as X\n"),
            "t.scn:4:12: error: pin 'X' is already defined");
  EXPECT_EQ(error_of("process P\nmmap P A 1\npin P A as X\nunpin X\ndma_read X\n"),
            "t.scn:5:10: error: pin 'X' was released");
  EXPECT_EQ(error_of("process P\nmmap P A 1\npin P A as X\npin_end X\n"),
            "t.scn:4:9: error: 'X' was not started by pin_begin, or has ended");
  EXPECT_EQ(error_of("process P\nmmap P A 1\nread P A expect EFAULT\n"),
            "t.scn:3:10: error: 'read' does not return an error to expect");
  EXPECT_EQ(error_of("process P\nmmap P A 1\nswapout P A expect EWHAT\n"), "t.scn:3:20: error: unknown errno 'EWHAT'");
  EXPECT_EQ(error_of("process P\nmmap P A 1\nswapout P A later\n"), "t.scn:3:13: error: unexpected 'later'");
  EXPECT_EQ(error_of("process P\nmmap P A 1\nswapout P A async async\n"), "t.scn:3:19: error: 'async' given twice");
  EXPECT_EQ(error_of("process P\nswapoff P now\n"), "t.scn:2:11: error: unexpected 'now'");
  EXPECT_EQ(error_of("process P\nresume P\n"), "t.scn:2:8: error: P has no paused fork or swapout to resume (... pause)");
  EXPECT_EQ(error_of("process P\nmmap P A 1\nfork P C pause\n"),
            "t.scn:3:1: error: the pause of P has no resume: the operation would wait forever");
  EXPECT_EQ(error_of("process P\nwriteback_done Q\n"), "t.scn:2:16: error: undefined process 'Q'");
  EXPECT_EQ(error_of("process P\nmmap P A 1\nmadvise P A sleep\n"),
            "t.scn:3:13: error: unknown advice 'sleep' (dontneed, dontfork, dofork, wipeonfork, keeponfork)");
  EXPECT_EQ(error_of("process P\nmmap P A 1\nmprotect P A\n"), "t.scn:3:1: error: mprotect needs prot=none|r|rw|rx|rwx");
  EXPECT_EQ(error_of("process P\nmmap P A 1\nmunmap P A+2p\n"),
            "t.scn:3:10: error: the address is beyond its region; give pages=N");
  EXPECT_EQ(error_of("process P\nmmap P A 1\npin_begin P A as G\n"),
            "t.scn:3:1: error: pin_begin of 'G' has no pin_end: P's core would keep its interrupts disabled");
  EXPECT_EQ(error_of("process P\nmmap P A 1\npin_begin P A as G\nmprotect P A prot=r\npin_end G\n"),
            "t.scn:4:1: error: cpu0 is inside P's GUP-fast section (pin_begin G at line 3) until pin_end G; only P's "
            "own loads and stores may run there");
  EXPECT_EQ(error_of("process P\nthread P.t2 cpu=1\nexit P.t2\n"),
            "t.scn:3:6: error: exit takes a process (the whole thread group exits)");
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
