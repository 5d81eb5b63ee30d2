#include <gtest/gtest.h>

#include "mmusim/machine/machine_config.h"

namespace mmusim::machine {
namespace {

TEST(MachineConfig, DefaultsAreValid) { EXPECT_EQ(MachineConfig{}.validate(), ""); }

TEST(MachineConfig, MessagesNameTheParameter) {
  MachineConfig c;
  c.dtlb.ways = 3;
  EXPECT_EQ(c.validate(), "dtlb.ways=3 does not divide dtlb.entries=64");
  c = {};
  c.dtlb.entries = 48;  // 12 sets
  EXPECT_NE(c.validate().find("not a power of two"), std::string::npos) << c.validate();
  c = {};
  c.dtlb.entries = 0;
  EXPECT_EQ(c.validate(), "dtlb.entries must be nonzero");
  c = {};
  c.cores = 0;
  EXPECT_EQ(c.validate(), "cores=0 is outside 1..64");
  c.cores = 65;
  EXPECT_EQ(c.validate(), "cores=65 is outside 1..64");
  c = {};
  c.memory.size_bytes = 4096 * 3 + 1;
  EXPECT_EQ(c.validate(), "memory.size_bytes=12289 is not a nonzero multiple of 4096");
  c = {};
  c.core.clock_ps = 0;
  EXPECT_EQ(c.validate(), "core.clock_ps must be nonzero");
  c = {};
  c.memory.copy_bytes_per_cycle = 0;
  EXPECT_EQ(c.validate(), "memory.copy_bytes_per_cycle must be nonzero");
}

}  // namespace
}  // namespace mmusim::machine
