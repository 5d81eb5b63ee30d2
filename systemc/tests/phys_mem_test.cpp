#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>

#include "mmusim/machine/phys_mem.h"

namespace mmusim::machine {
namespace {

MemoryParams small() {
  MemoryParams p;
  p.size_bytes = 16 * kPageSize;
  p.copy_bytes_per_cycle = 16;
  p.zero_bytes_per_cycle = 32;
  return p;
}

double stat(const stats::Group& g, const char* path) {
  const stats::Stat* s = g.find(path);
  EXPECT_NE(s, nullptr) << path;
  return s ? s->value_as_double() : -1;
}

TEST(PhysMem, AbsentFramesReadAsZeroWithoutStorage) {
  stats::Group root("");
  PhysMem mem(small(), root);
  EXPECT_EQ(mem.read64(0x3000), 0u);
  std::uint8_t buf[16];
  std::memset(buf, 0xaa, sizeof buf);
  mem.read(0x5ff0, buf, sizeof buf);
  for (std::uint8_t b : buf) EXPECT_EQ(b, 0);
  EXPECT_EQ(mem.frames_resident(), 0u) << "reads must not allocate frames";
  EXPECT_EQ(stat(root, "mem.reads"), 2);
}

TEST(PhysMem, BytesRoundTripLittleEndian) {
  stats::Group root("");
  PhysMem mem(small(), root);
  mem.write64(0x1008, 0x1122334455667788ull);
  std::uint8_t b[8];
  mem.read(0x1008, b, 8);
  EXPECT_EQ(b[0], 0x88);
  EXPECT_EQ(b[7], 0x11);
  const std::uint8_t s[3] = {1, 2, 3};
  mem.write(0x2ffd, s, 3);  // ends exactly at the frame boundary
  EXPECT_EQ(mem.peek64(0x2ff8), 0x0302010000000000ull);
  EXPECT_EQ(mem.frames_resident(), 2u);
  EXPECT_EQ(stat(root, "mem.frames_resident"), 2);
  EXPECT_EQ(stat(root, "mem.writes"), 2);
  EXPECT_EQ(stat(root, "mem.reads"), 1) << "peek64 is a backdoor";
}

TEST(PhysMem, ZerosWrittenToAnAbsentFrameTakeNoStorage) {
  stats::Group root("");
  PhysMem mem(small(), root);
  mem.write64(0x3000, 0);  // below the index limit
  const std::uint8_t zeros[5] = {};
  mem.write(0x4ff8, zeros, 5);
  EXPECT_EQ(mem.frames_resident(), 0u) << "zeros into a frame that reads as zero change nothing";
  EXPECT_EQ(stat(root, "mem.writes"), 2) << "still timed writes";
  mem.write64(0x3008, 7);
  EXPECT_EQ(mem.frames_resident(), 1u);
  mem.write64(0x3008, 0);  // a zero into a frame with storage is stored
  EXPECT_EQ(mem.peek64(0x3008), 0u);
  EXPECT_EQ(mem.frames_resident(), 1u);
  const std::uint8_t mixed[3] = {0, 0, 9};
  mem.write(0x6000, mixed, 3);
  EXPECT_EQ(mem.peek64(0x6000), 0x090000u);
  EXPECT_EQ(mem.frames_resident(), 2u);
}

TEST(PhysMem, XchgAndCmpxchg) {
  stats::Group root("");
  PhysMem mem(small(), root);
  mem.poke64(0x100, 5);
  EXPECT_EQ(mem.xchg64(0x100, 7), 5u);
  EXPECT_EQ(mem.cmpxchg64(0x100, 6, 9), 7u);  // mismatch: no store
  EXPECT_EQ(mem.peek64(0x100), 7u);
  EXPECT_EQ(mem.cmpxchg64(0x100, 7, 9), 7u);
  EXPECT_EQ(mem.peek64(0x100), 9u);
  EXPECT_EQ(stat(root, "mem.reads"), 3);
  EXPECT_EQ(stat(root, "mem.writes"), 2);
}

TEST(PhysMem, ZeroAndCopyFrames) {
  stats::Group root("");
  PhysMem mem(small(), root);
  mem.write64(pfn_to_phys(3) + 0x18, 42);
  mem.copy_frame(5, 3);
  EXPECT_EQ(mem.peek64(pfn_to_phys(5) + 0x18), 42u);
  mem.zero_frame(3);
  EXPECT_EQ(mem.peek64(pfn_to_phys(3) + 0x18), 0u);
  EXPECT_EQ(mem.peek64(pfn_to_phys(5) + 0x18), 42u) << "the copy is independent of its source";
  mem.copy_frame(5, 3);  // copying an absent (zero) frame zeroes the destination
  EXPECT_EQ(mem.peek64(pfn_to_phys(5) + 0x18), 0u);
  EXPECT_EQ(mem.frames_resident(), 0u);
  EXPECT_EQ(stat(root, "mem.frames_zeroed"), 1);
  EXPECT_EQ(stat(root, "mem.frames_copied"), 2);
}

TEST(PhysMem, Costs) {
  stats::Group root("");
  MemoryParams p = small();
  p.read_cycles = 7;
  p.write_cycles = 9;
  p.copy_bytes_per_cycle = 16;
  p.zero_bytes_per_cycle = 3;  // does not divide 4096: rounds up
  PhysMem mem(p, root);
  EXPECT_EQ(mem.read_cost(), 7u);
  EXPECT_EQ(mem.write_cost(), 9u);
  EXPECT_EQ(mem.copy_frame_cost(), 256u);
  EXPECT_EQ(mem.zero_frame_cost(), 1366u);
}

// The store buffer's read (no frame-crossing test): the same values and counts as read_value(),
// for frames in the index, above it (memory beyond 16 GiB) and without storage; out of range
// still throws.
TEST(PhysMem, ReadValueInFrameMatchesReadValue) {
  stats::Group root("");
  MemoryParams p = small();
  p.size_bytes = (17ull << 30);  // 17 GiB: the last GiB lies above the frame index
  PhysMem mem(p, root);
  const PhysAddr low = 0x3000, high = (16ull << 30) + 0x5000;
  unsigned compared = 0;
  for (PhysAddr base : {low, high}) {
    mem.write64(base + 0x10, 0x1122334455667788ull);
    for (unsigned len : {1u, 2u, 4u, 8u})
      for (PhysAddr off : {0x10ull, 0x11ull, 0x14ull, 0x17ull, 0xff8ull}) {
        if ((off & 0xfff) + len > kPageSize) continue;
        EXPECT_EQ(mem.read_value_in_frame(base + off, len), mem.read_value(base + off, len))
            << std::hex << base + off << " len " << len;
        ++compared;
      }
  }
  EXPECT_EQ(mem.read_value_in_frame(low + 0x14, 4), 0x11223344u);
  EXPECT_EQ(mem.read_value_in_frame(high + 0x10, 8), 0x1122334455667788ull);
  EXPECT_EQ(mem.read_value_in_frame(0x8000, 8), 0u) << "a frame without storage reads as zero";
  EXPECT_EQ(compared, 40u);
  EXPECT_EQ(stat(root, "mem.reads"), 2 * compared + 3) << "each read counted once";
  EXPECT_THROW(mem.read_value_in_frame(17ull << 30, 8), std::out_of_range);
}

TEST(PhysMem, BadAccessesThrow) {
  stats::Group root("");
  PhysMem mem(small(), root);
  try {
    mem.read64(16 * kPageSize);
    FAIL() << "no exception";
  } catch (const std::out_of_range& e) {
    EXPECT_NE(std::string(e.what()).find("0x10000"), std::string::npos) << e.what();
  }
  EXPECT_THROW(mem.write64(16 * kPageSize - 4, 1), std::out_of_range);
  EXPECT_THROW(mem.zero_frame(16), std::out_of_range);
  EXPECT_THROW(mem.copy_frame(0, 99), std::out_of_range);
  EXPECT_THROW(mem.read64(0xffc), std::invalid_argument) << "crosses a frame";
  std::uint8_t b[1];
  EXPECT_THROW(mem.read(0, b, 0), std::invalid_argument);
  EXPECT_THROW(mem.peek64(1ull << 40), std::out_of_range);
  MemoryParams bad = small();
  bad.size_bytes = 100;
  EXPECT_THROW(PhysMem(bad, root, "bad"), std::invalid_argument);
}

}  // namespace
}  // namespace mmusim::machine
