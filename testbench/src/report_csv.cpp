#include "mmusim/testbench/report_csv.h"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "mmusim/testbench/tools/csv_text.h"

namespace mmusim::testbench {
namespace {

class CsvWriter : public stats::Visitor {
 public:
  explicit CsvWriter(std::ostream& out) : out_(out) { out_ << "stat,unit,field,low,value\n"; }

  void scalar(const std::string& path, const stats::Scalar& s) override {
    row(path, s, "value", "", std::to_string(s.value()));
  }
  void formula(const std::string& path, const stats::Formula& s) override {
    row(path, s, "value", "", tools::number_text(s.value()));
  }
  void distribution(const std::string& path, const stats::Distribution& s) override {
    row(path, s, "count", "", std::to_string(s.count()));
    row(path, s, "sum", "", std::to_string(s.sum()));
    row(path, s, "min", "", std::to_string(s.min()));
    row(path, s, "max", "", std::to_string(s.max()));
    row(path, s, "mean", "", tools::number_text(s.mean()));
    if (s.keeps_values() && s.count() > 0) {
      row(path, s, "p50", "", std::to_string(*s.percentile(0.5)));
      row(path, s, "p90", "", std::to_string(*s.percentile(0.9)));
      row(path, s, "p99", "", std::to_string(*s.percentile(0.99)));
    }
    for (std::size_t i = 0; i < stats::Distribution::kBuckets; ++i)
      if (s.buckets()[i])
        row(path, s, "bucket", std::to_string(stats::Distribution::bucket_low(i)), std::to_string(s.buckets()[i]));
  }

 private:
  void row(const std::string& path, const stats::Stat& s, const char* field, const std::string& low,
           const std::string& value) {
    out_ << tools::csv_row({path, std::string(stats::unit_name(s.unit())), field, low, value}) << '\n';
  }
  std::ostream& out_;
};

}  // namespace

void write_stats_csv(std::ostream& out, const stats::Group& root) {
  CsvWriter writer(out);
  root.accept(writer);
}

}  // namespace mmusim::testbench
