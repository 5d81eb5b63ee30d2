#include "mmusim/stats/stats.h"

#include <algorithm>
#include <cmath>

namespace mmusim::stats {

std::string_view unit_name(Unit unit) {
  switch (unit) {
    case Unit::kCount: return "count";
    case Unit::kCycles: return "cycles";
    case Unit::kBytes: return "bytes";
    case Unit::kPages: return "pages";
    case Unit::kRatio: return "ratio";
  }
  return "unknown";
}

Stat::Stat(Group& group, std::string name, Unit unit, std::string description)
    : name_(std::move(name)), unit_(unit), description_(std::move(description)) {
  group.stats_.push_back(this);
}

std::uint64_t Distribution::bucket_low(std::size_t index) {
  return index == 0 ? 0 : 1ull << (index - 1);
}

void Distribution::keep_value(std::uint64_t value) { ++values_[value]; }

void Distribution::sample_many(std::uint64_t value, std::uint64_t n) { add_samples(value, n); }

void Distribution::add_samples(std::uint64_t value, std::uint64_t n) const {
  if (n == 0) return;
  count_ += n;
  sum_ += value * n;  // modulo 2^64, as n additions of `value` would wrap
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  buckets_[bucket_of(value)] += n;
  if (keep_values_) values_[value] += n;
}

void Distribution::count_small_values(std::uint64_t bound) {
  settle();  // samples counted under an earlier bound are kept
  small_.assign(bound, 0);
}

void Distribution::fold_small() const {
  for (std::uint64_t v = 0; v < small_.size(); ++v) {
    if (small_[v] == 0) continue;
    add_samples(v, small_[v]);
    small_[v] = 0;
  }
}

std::optional<std::uint64_t> Distribution::percentile(double q) const {
  settle();
  if (!keep_values_ || count_ == 0) return std::nullopt;
  // Nearest rank: ceil(q * count), at least 1.
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (const auto& [value, n] : values_) {
    seen += n;
    if (seen >= rank) return value;
  }
  return max_;
}

std::vector<std::pair<std::uint64_t, double>> Distribution::cdf(std::size_t max_points) const {
  settle();
  std::vector<std::pair<std::uint64_t, double>> points;
  if (!keep_values_ || count_ == 0) return points;
  max_points = std::max<std::size_t>(max_points, 2);
  const auto fraction = [this](std::uint64_t at_or_below) {
    return static_cast<double>(at_or_below) / static_cast<double>(count_);
  };
  std::vector<std::pair<std::uint64_t, std::uint64_t>> cumulative;  // value, samples <= value
  std::uint64_t seen = 0;
  for (const auto& [value, n] : values_) cumulative.emplace_back(value, seen += n);
  if (cumulative.size() <= max_points) {
    for (const auto& [value, at_or_below] : cumulative) points.emplace_back(value, fraction(at_or_below));
    return points;
  }
  const std::uint64_t steps = max_points - 1;
  for (std::uint64_t k = 0; k <= steps; ++k) {
    // Nearest rank of q = k / steps, in integers: ceil(k * count / steps), at least 1.
    const std::uint64_t rank = std::max<std::uint64_t>(1, (k * count_ + steps - 1) / steps);
    const auto it = std::lower_bound(cumulative.begin(), cumulative.end(), rank,
                                     [](const auto& entry, std::uint64_t r) { return entry.second < r; });
    if (points.empty() || points.back().first != it->first) points.emplace_back(it->first, fraction(it->second));
  }
  return points;
}

void Distribution::reset() {
  count_ = sum_ = max_ = 0;
  min_ = UINT64_MAX;
  buckets_.fill(0);
  values_.clear();
  std::fill(small_.begin(), small_.end(), 0);
}

Formula::Formula(Group& group, std::string name, Unit unit, std::string description,
                 std::function<double()> compute)
    : Stat(group, std::move(name), unit, std::move(description)), compute_(std::move(compute)) {}

Group::Group(std::string name, Group* parent) : name_(std::move(name)), parent_(parent) {
  if (parent_) parent_->children_.push_back(this);
}

Group::~Group() {
  if (parent_) {
    auto& siblings = parent_->children_;
    siblings.erase(std::remove(siblings.begin(), siblings.end(), this), siblings.end());
  }
}

std::string Group::path() const {
  if (!parent_) return name_;
  std::string prefix = parent_->path();
  return prefix.empty() ? name_ : prefix + "." + name_;
}

void Group::accept(Visitor& visitor) const { accept_prefixed("", visitor); }

void Group::accept_prefixed(const std::string& prefix, Visitor& visitor) const {
  for (const Stat* stat : stats_) stat->accept(prefix + stat->name(), visitor);
  for (const Group* child : children_) child->accept_prefixed(prefix + child->name() + ".", visitor);
}

void Group::reset() {
  for (Stat* stat : stats_) stat->reset();
  for (Group* child : children_) child->reset();
}

const Stat* Group::find(std::string_view path) const {
  const std::size_t dot = path.find('.');
  if (dot == std::string_view::npos) {
    for (const Stat* stat : stats_)
      if (stat->name() == path) return stat;
    return nullptr;
  }
  const std::string_view head = path.substr(0, dot);
  for (const Group* child : children_)
    if (child->name() == head) return child->find(path.substr(dot + 1));
  return nullptr;
}

std::vector<std::string> Group::paths() const {
  struct Collector : Visitor {
    std::vector<std::string> out;
    void scalar(const std::string& p, const Scalar&) override { out.push_back(p); }
    void distribution(const std::string& p, const Distribution&) override { out.push_back(p); }
    void formula(const std::string& p, const Formula&) override { out.push_back(p); }
  } collector;
  accept(collector);
  return collector.out;
}

}  // namespace mmusim::stats
