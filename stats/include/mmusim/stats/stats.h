// Declared statistics: every statistic has a name, a unit and a description, is registered in a
// group at construction, and is visited (for text, JSON or CSV output) from those declarations.
// Totals are Formulas over counted stats, never counted twice (gem5 Stats style).
#pragma once

#include <array>
#include <cassert>
#include <map>
#include <optional>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mmusim::stats {

enum class Unit { kCount, kCycles, kBytes, kPages, kRatio };
std::string_view unit_name(Unit unit);

class Group;
class Scalar;
class Distribution;
class Formula;

// Receives each statistic with its dotted path ("cpu0.dtlb.hits").
class Visitor {
 public:
  virtual ~Visitor() = default;
  virtual void scalar(const std::string& path, const Scalar& stat) = 0;
  virtual void distribution(const std::string& path, const Distribution& stat) = 0;
  virtual void formula(const std::string& path, const Formula& stat) = 0;
};

class Stat {
 public:
  Stat(Group& group, std::string name, Unit unit, std::string description);
  virtual ~Stat() = default;
  Stat(const Stat&) = delete;
  Stat& operator=(const Stat&) = delete;

  const std::string& name() const { return name_; }
  Unit unit() const { return unit_; }
  const std::string& description() const { return description_; }
  virtual void accept(const std::string& path, Visitor& visitor) const = 0;
  virtual void reset() = 0;
  // Value used by expectations and summaries: the count for scalars, the number of samples for
  // distributions, the computed value for formulas.
  virtual double value_as_double() const = 0;

 private:
  std::string name_;
  Unit unit_;
  std::string description_;
};

// A counter. Incremented by exactly the event its description names.
class Scalar final : public Stat {
 public:
  using Stat::Stat;
  void inc(std::uint64_t n = 1) { value_ += n; }
  std::uint64_t value() const { return value_; }
  void accept(const std::string& path, Visitor& visitor) const override { visitor.scalar(path, *this); }
  void reset() override { value_ = 0; }
  double value_as_double() const override { return static_cast<double>(value_); }

 private:
  std::uint64_t value_ = 0;
};

// Samples of a non-negative quantity (latencies). Keeps count, sum, min, max and power-of-two
// buckets: bucket 0 holds the value 0, bucket i >= 1 holds [2^(i-1), 2^i).
//
// Small values in bulk: after count_small_values(bound), sample_small(v) (v < bound) is one
// increment of a plain per-value counter, for a quantity sampled on every simulated access whose
// range is small and known (a store buffer's occupancy). Those counters are folded into count,
// sum, min, max, the buckets and the kept values before anything reads the distribution, so
// every read gives exactly what sample(v) would have given (the statistics are sums and extrema,
// indifferent to the order of the samples).
class Distribution final : public Stat {
 public:
  static constexpr std::size_t kBuckets = 65;
  using Stat::Stat;
  // Inline (some distributions take a sample on hot paths); keeping the value for percentile()
  // is out of line.
  void sample(std::uint64_t value) {
    ++count_;
    sum_ += value;
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
    ++buckets_[bucket_of(value)];
    if (keep_values_) keep_value(value);
  }
  // n samples of `value` at once: the same result as n calls of sample(value).
  void sample_many(std::uint64_t value, std::uint64_t n);
  // Enables sample_small() for the values [0, bound); samples already taken are kept.
  void count_small_values(std::uint64_t bound);
  // sample(value), deferred (see the class comment); value < the bound of count_small_values().
  void sample_small(std::uint64_t value) {
    assert(value < small_.size());
    ++small_[value];
  }
  std::uint64_t count() const { settle(); return count_; }
  std::uint64_t sum() const { settle(); return sum_; }
  std::uint64_t min() const { settle(); return count_ ? min_ : 0; }
  std::uint64_t max() const { settle(); return max_; }
  double mean() const {
    settle();
    return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0;
  }
  const std::array<std::uint64_t, kBuckets>& buckets() const { settle(); return buckets_; }
  static std::uint64_t bucket_low(std::size_t index);
  static std::size_t bucket_of(std::uint64_t value) {
    return value == 0 ? 0 : static_cast<std::size_t>(64 - __builtin_clzll(value));
  }
  void accept(const std::string& path, Visitor& visitor) const override {
    visitor.distribution(path, *this);
  }
  void reset() override;
  double value_as_double() const override { return static_cast<double>(count()); }
  // Keeps every sampled value (as value -> count) so that percentile() is exact: for the
  // latency probes, not for per-access paths.
  void keep_values() { keep_values_ = true; }
  bool keeps_values() const { return keep_values_; }
  // Nearest rank: the smallest sampled value v with at least q (0 < q <= 1) of the samples <= v.
  // nullopt without keep_values() or without samples.
  std::optional<std::uint64_t> percentile(double q) const;
  // Points (value, fraction of the samples <= value) of the empirical distribution function,
  // each exact: every distinct sampled value when there are at most max_points (>= 2) of them,
  // otherwise the nearest-rank percentiles at q = k / (max_points - 1), k = 0..max_points-1
  // (so the first point is the minimum and the last the maximum; repeated values once).
  // Empty without keep_values() or without samples.
  std::vector<std::pair<std::uint64_t, double>> cdf(std::size_t max_points = 101) const;

 private:
  // Folds the small-value counters in. Reads are const but must see those samples, so the
  // folded fields are mutable: the distribution's value (the samples taken) does not change.
  void settle() const {
    if (!small_.empty()) fold_small();
  }
  void fold_small() const;
  // sample_many() on the mutable fields, for fold_small().
  void add_samples(std::uint64_t value, std::uint64_t n) const;
  void keep_value(std::uint64_t value);
  mutable std::uint64_t count_ = 0;
  mutable std::uint64_t sum_ = 0;
  mutable std::uint64_t min_ = UINT64_MAX;
  mutable std::uint64_t max_ = 0;
  mutable std::array<std::uint64_t, kBuckets> buckets_{};
  bool keep_values_ = false;
  mutable std::map<std::uint64_t, std::uint64_t> values_;
  // Samples of value v taken by sample_small() and not folded yet: small_[v]. Empty unless
  // count_small_values() was called.
  mutable std::vector<std::uint64_t> small_;
};

// A value computed from other statistics when read (e.g. accesses = hits + misses).
class Formula final : public Stat {
 public:
  Formula(Group& group, std::string name, Unit unit, std::string description,
          std::function<double()> compute);
  double value() const { return compute_(); }
  void accept(const std::string& path, Visitor& visitor) const override { visitor.formula(path, *this); }
  void reset() override {}
  double value_as_double() const override { return value(); }

 private:
  std::function<double()> compute_;
};

// A named node of the statistics tree. Groups and stats register with their parent when
// constructed and must not outlive it; the tree is read-only once the model is elaborated.
class Group {
 public:
  explicit Group(std::string name, Group* parent = nullptr);
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;
  ~Group();

  const std::string& name() const { return name_; }
  std::string path() const;
  void accept(Visitor& visitor) const;
  void reset();
  // Finds a statistic by dotted path relative to this group; nullptr if there is none.
  const Stat* find(std::string_view path) const;
  // Every statistic path below this group, in declaration order.
  std::vector<std::string> paths() const;

 private:
  friend class Stat;
  void accept_prefixed(const std::string& prefix, Visitor& visitor) const;
  std::string name_;
  Group* parent_;
  std::vector<Stat*> stats_;
  std::vector<Group*> children_;
};

}  // namespace mmusim::stats
