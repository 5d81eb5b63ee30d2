#include "mmusim/stats/stats.h"

#include <gtest/gtest.h>

namespace mmusim::stats {
namespace {

TEST(Stats, ScalarCountsAndResets) {
  Group root("");
  Scalar hits(root, "hits", Unit::kCount, "lookups that hit");
  hits.inc();
  hits.inc(2);
  EXPECT_EQ(hits.value(), 3u);
  root.reset();
  EXPECT_EQ(hits.value(), 0u);
}

TEST(Stats, DistributionBucketsArePowersOfTwo) {
  Group root("");
  Distribution d(root, "lat", Unit::kCycles, "latency");
  for (std::uint64_t v : {0u, 1u, 2u, 3u, 4u, 1000u}) d.sample(v);
  EXPECT_EQ(d.count(), 6u);
  EXPECT_EQ(d.sum(), 1010u);
  EXPECT_EQ(d.min(), 0u);
  EXPECT_EQ(d.max(), 1000u);
  EXPECT_EQ(d.buckets()[0], 1u);  // 0
  EXPECT_EQ(d.buckets()[1], 1u);  // [1,2)
  EXPECT_EQ(d.buckets()[2], 2u);  // [2,4)
  EXPECT_EQ(d.buckets()[3], 1u);  // [4,8)
  EXPECT_EQ(d.buckets()[10], 1u); // [512,1024)
  EXPECT_EQ(Distribution::bucket_low(10), 512u);
}

TEST(Stats, FormulaIsComputedFromOtherStats) {
  Group root("");
  Scalar a(root, "a", Unit::kCount, "a");
  Scalar b(root, "b", Unit::kCount, "b");
  Formula sum(root, "sum", Unit::kCount, "a + b",
              [&] { return static_cast<double>(a.value() + b.value()); });
  a.inc(2);
  b.inc(3);
  EXPECT_EQ(sum.value(), 5.0);
}

TEST(Stats, PathsAndFindFollowTheGroupTree) {
  Group root("");
  Group cpu("cpu0", &root);
  Group tlb("dtlb", &cpu);
  Scalar hits(tlb, "hits", Unit::kCount, "hits");
  hits.inc(7);
  EXPECT_EQ(tlb.path(), "cpu0.dtlb");
  ASSERT_NE(root.find("cpu0.dtlb.hits"), nullptr);
  EXPECT_EQ(root.find("cpu0.dtlb.hits")->value_as_double(), 7.0);
  EXPECT_EQ(root.find("cpu0.dtlb.misses"), nullptr);
  EXPECT_EQ(root.find("cpu1.dtlb.hits"), nullptr);
  EXPECT_EQ(root.paths(), std::vector<std::string>{"cpu0.dtlb.hits"});
}

TEST(Distribution, PercentilesAreNearestRankOverKeptValues) {
  Group root("");
  Distribution d(root, "lat", Unit::kCycles, "test");
  d.sample(10);
  EXPECT_EQ(d.percentile(0.5), std::nullopt);  // values not kept
  Distribution k(root, "kept", Unit::kCycles, "test");
  k.keep_values();
  EXPECT_EQ(k.percentile(0.5), std::nullopt);  // no samples
  for (std::uint64_t v : {5, 1, 4, 2, 3, 10, 9, 8, 7, 6}) k.sample(v);
  EXPECT_EQ(k.percentile(0.5), 5u);   // rank ceil(0.5*10) = 5
  EXPECT_EQ(k.percentile(0.9), 9u);   // rank 9
  EXPECT_EQ(k.percentile(0.99), 10u); // rank ceil(9.9) = 10
  EXPECT_EQ(k.percentile(0.01), 1u);  // rank 1
  k.sample(10);
  EXPECT_EQ(k.percentile(1.0), 10u);
  k.reset();
  EXPECT_EQ(k.percentile(0.5), std::nullopt);
}

TEST(Distribution, CdfListsEveryDistinctValueWhenFew) {
  Group root("");
  Distribution d(root, "lat", Unit::kCycles, "test");
  d.sample(3);
  EXPECT_TRUE(d.cdf().empty());  // values not kept
  Distribution k(root, "kept", Unit::kCycles, "test");
  k.keep_values();
  EXPECT_TRUE(k.cdf().empty());  // no samples
  for (std::uint64_t v : {7, 3, 3, 9}) k.sample(v);
  using P = std::vector<std::pair<std::uint64_t, double>>;
  EXPECT_EQ(k.cdf(), (P{{3, 0.5}, {7, 0.75}, {9, 1.0}}));
}

TEST(Distribution, CdfOfManyValuesIsExactPercentiles) {
  Group root("");
  Distribution k(root, "kept", Unit::kCycles, "test");
  k.keep_values();
  for (std::uint64_t v = 1; v <= 1000; ++v) k.sample(v);
  const auto points = k.cdf(101);
  ASSERT_EQ(points.size(), 101u);
  EXPECT_EQ(points.front(), (std::pair<std::uint64_t, double>{1, 0.001}));
  EXPECT_EQ(points[50], (std::pair<std::uint64_t, double>{500, 0.5}));
  EXPECT_EQ(points.back(), (std::pair<std::uint64_t, double>{1000, 1.0}));
  for (std::size_t i = 1; i < points.size(); ++i) {
    EXPECT_EQ(points[i].first, 10 * i);  // nearest rank ceil(i / 100 * 1000)
    EXPECT_EQ(points[i].second, static_cast<double>(10 * i) / 1000.0);  // samples <= value, exactly
  }
  // Fewer points than distinct values, with repeated ranks: duplicates are dropped.
  Distribution skew(root, "skew", Unit::kCycles, "test");
  skew.keep_values();
  for (int i = 0; i < 100; ++i) skew.sample(5);
  for (std::uint64_t v = 6; v < 10; ++v) skew.sample(v);
  const auto s = skew.cdf(3);
  using P = std::vector<std::pair<std::uint64_t, double>>;
  EXPECT_EQ(s, (P{{5, 100.0 / 104}, {9, 1.0}}));
}

// Every value a reader can see, so that two distributions can be compared whole.
void expect_same(const Distribution& a, const Distribution& b) {
  EXPECT_EQ(a.count(), b.count());
  EXPECT_EQ(a.sum(), b.sum());
  EXPECT_EQ(a.min(), b.min());
  EXPECT_EQ(a.max(), b.max());
  EXPECT_EQ(a.mean(), b.mean());
  EXPECT_EQ(a.buckets(), b.buckets());
  EXPECT_EQ(a.value_as_double(), b.value_as_double());
  for (const double q : {0.01, 0.5, 0.9, 1.0}) EXPECT_EQ(a.percentile(q), b.percentile(q));
  EXPECT_EQ(a.cdf(), b.cdf());
}

TEST(Distribution, SampleManyIsRepeatedSample) {
  Group root("");
  Distribution one(root, "one", Unit::kCount, "test");
  Distribution many(root, "many", Unit::kCount, "test");
  one.keep_values();
  many.keep_values();
  for (int i = 0; i < 3; ++i) one.sample(7);
  one.sample(0);
  for (int i = 0; i < 2; ++i) one.sample(UINT64_MAX);  // the sum wraps modulo 2^64
  many.sample_many(7, 3);
  many.sample_many(5, 0);  // no samples: min and max untouched
  many.sample_many(0, 1);
  many.sample_many(UINT64_MAX, 2);
  expect_same(one, many);
  EXPECT_EQ(many.count(), 6u);
  EXPECT_EQ(many.sum(), 21u - 2u);
}

TEST(Distribution, SmallValuesReadAsIfSampled) {
  Group root("");
  Distribution direct(root, "direct", Unit::kCount, "test");
  Distribution small(root, "small", Unit::kCount, "test");
  direct.keep_values();
  small.keep_values();
  // A sample before the counters exist, then counted ones, read in between (a read folds them)
  // and counted again after the read.
  direct.sample(100);
  small.sample(100);
  small.count_small_values(9);
  for (std::uint64_t v : {3, 3, 8, 1, 0, 3}) {
    direct.sample(v);
    small.sample_small(v);
  }
  expect_same(direct, small);
  for (std::uint64_t v : {2, 8, 8}) {
    direct.sample(v);
    small.sample_small(v);
  }
  small.sample(40);  // sample() still works beside the counters
  direct.sample(40);
  expect_same(direct, small);
  EXPECT_EQ(small.count(), 11u);
  EXPECT_EQ(small.min(), 0u);
  EXPECT_EQ(small.max(), 100u);
  EXPECT_EQ(small.buckets()[2], 4u);  // [2,4): 3 three times, 2 once
}

TEST(Distribution, SmallValuesOnlyAreSeenByVisitorsAndReset) {
  Group root("");
  Distribution d(root, "occ", Unit::kCount, "test");
  d.count_small_values(5);
  d.sample_small(4);
  d.sample_small(1);
  struct Reader : Visitor {
    std::uint64_t count = 0, sum = 0, min = 0, max = 0;
    void scalar(const std::string&, const Scalar&) override {}
    void distribution(const std::string&, const Distribution& s) override {
      count = s.count();
      sum = s.sum();
      min = s.min();
      max = s.max();
    }
    void formula(const std::string&, const Formula&) override {}
  } reader;
  root.accept(reader);
  EXPECT_EQ(reader.count, 2u);
  EXPECT_EQ(reader.sum, 5u);
  EXPECT_EQ(reader.min, 1u);
  EXPECT_EQ(reader.max, 4u);
  EXPECT_EQ(root.find("occ")->value_as_double(), 2.0);
  // Unread counters are dropped by reset() like the rest.
  d.sample_small(3);
  root.reset();
  EXPECT_EQ(d.count(), 0u);
  EXPECT_EQ(d.min(), 0u);
  d.sample_small(2);
  EXPECT_EQ(d.count(), 1u);
  EXPECT_EQ(d.sum(), 2u);
}

}  // namespace
}  // namespace mmusim::stats
