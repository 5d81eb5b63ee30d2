#include <gtest/gtest.h>

#include "mmusim/machine/machine_config.h"

namespace mmusim::machine {
namespace {

TEST(MachineConfig, DefaultsAreValid) { EXPECT_EQ(MachineConfig{}.validate(), ""); }

TEST(MachineConfig, DefaultsModelAGoldenCoveClassCore) {
  const MachineConfig c;
  EXPECT_EQ(c.dtlb.arrays[0].entries, 64u);
  EXPECT_EQ(c.dtlb.arrays[0].page_sizes, unsigned{kPage4K});
  EXPECT_EQ(c.stlb.arrays[0].entries, 2048u);
  EXPECT_EQ(c.stlb.arrays[0].page_sizes, unsigned{kPage4K | kPage2M});
  EXPECT_EQ(c.walker.pde_cache.entries, 32u);
  EXPECT_EQ(c.walker.max_walks, 4u) << "Golden Cove: four page walkers";
}

TEST(MachineConfig, MessagesNameTheParameter) {
  MachineConfig c;
  c.dtlb.arrays[0].ways = 3;
  EXPECT_EQ(c.validate(), "dtlb.array0.ways=3 does not divide dtlb.array0.entries=64");
  c = {};
  c.dtlb.arrays[0].entries = 48;  // 12 sets
  EXPECT_NE(c.validate().find("not a power of two"), std::string::npos) << c.validate();
  c = {};
  for (auto& a : c.itlb.arrays) a.entries = 0;
  EXPECT_EQ(c.validate(), "itlb has no array with nonzero entries");
  c = {};
  c.stlb.replacement = Replacement::kPlru;
  c.stlb.arrays[1] = {12, 3, kPage1G};
  EXPECT_EQ(c.validate(), "stlb.array1.ways=3 is not a power of two, which tree-PLRU needs");
  c = {};
  c.dtlb.arrays[2].page_sizes = 0;
  EXPECT_EQ(c.validate(), "dtlb.array2.page_sizes must name at least one of 4k, 2m, 1g");
  c = {};
  c.dtlb.arrays[1].page_sizes = kPage4K | kPage2M;
  EXPECT_EQ(c.validate(), "dtlb.array1.page_sizes names a page size an earlier array holds");
  c = {};
  c.walker.pde_cache = {32, 5, 1};
  EXPECT_EQ(c.validate(), "walker.pde_cache.ways=5 does not divide walker.pde_cache.entries=32");
  c = {};
  c.walker.pde_cache.entries = 0;  // disabled: valid
  EXPECT_EQ(c.validate(), "");
  c = {};
  c.store_buffer.entries = 0;
  EXPECT_EQ(c.validate(), "store_buffer.entries must be nonzero");
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
  c = {};
  c.walker.max_walks = 0;
  EXPECT_EQ(c.validate(), "walker.max_walks must be at least 1 (the number of page walkers per core)");
  c = {};
  c.core.miss_window_ops = 0;
  EXPECT_EQ(c.validate(),
            "core.miss_window_ops must be at least 1 (operations the core may issue under an "
            "outstanding walk)");
}

}  // namespace
}  // namespace mmusim::machine
