// The pure-C++ parts of sweeps and the cow suite: grid, quoting, metrics, Run-with lines.
#include <gtest/gtest.h>

#include "mmusim/testbench/cow/suite.h"
#include "mmusim/testbench/sweep/grid.h"
#include "mmusim/testbench/sweep/metrics.h"
#include "mmusim/testbench/tools/csv_text.h"
#include "mmusim/testbench/tools/input_error.h"
#include "mmusim/testbench/tools/process_pool.h"
#include "mmusim/testbench/tools/shell_words.h"
#include "mmusim/testbench/tools/text_file.h"

namespace mmusim::testbench {
namespace {

using Strings = std::vector<std::string>;

TEST(Grid, ParsesParametersAndOptions) {
  const auto a = sweep::parse_grid_axis("dtlb.array0.entries=32,64,128");
  EXPECT_EQ(a.key, "dtlb.array0.entries");
  EXPECT_EQ(a.values, (Strings{"32", "64", "128"}));
  EXPECT_FALSE(a.is_option());
  const auto o = sweep::parse_grid_axis("--cores=1,2");
  EXPECT_EQ(o.key, "--cores");
  EXPECT_EQ(o.values, (Strings{"1", "2"}));
  EXPECT_TRUE(o.is_option());
  EXPECT_THROW(sweep::parse_grid_axis("walker.pwc"), tools::InputError);
  EXPECT_THROW(sweep::parse_grid_axis("walker.pwc="), tools::InputError);
  EXPECT_THROW(sweep::parse_grid_axis("walker.pwc=1,,2"), tools::InputError);
  EXPECT_THROW(sweep::parse_grid_axis("=1,2"), tools::InputError);
}

TEST(Grid, FirstAxisVariesSlowest) {
  const std::vector<sweep::GridAxis> axes{{"a", {"1", "2"}}, {"--b", {"x", "y", "z"}}};
  const auto points = sweep::expand_grid(axes);
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points[0], (Strings{"1", "x"}));
  EXPECT_EQ(points[2], (Strings{"1", "z"}));
  EXPECT_EQ(points[3], (Strings{"2", "x"}));
  EXPECT_EQ(sweep::point_arguments(axes, points[4]), (Strings{"--set", "a=2", "--b=y"}));
  EXPECT_TRUE(sweep::expand_grid({}).empty());
  EXPECT_EQ(sweep::point_name(7, 6), "0007");
  EXPECT_EQ(sweep::point_name(7, 12345), "00007");
}

TEST(TextFile, UnwritableReasonNamesTheProblem) {
  using tools::unwritable_reason;
  const std::string dir = ::testing::TempDir();
  EXPECT_EQ(unwritable_reason(dir + "/mmusim_new_file.json"), "") << "a new file in a directory";
  EXPECT_EQ(unwritable_reason("relative_name.csv"), "") << "the current directory";
  EXPECT_EQ(unwritable_reason(dir), "is a directory");
  EXPECT_EQ(unwritable_reason("/nonexistent/x.json"), "no directory /nonexistent");
  EXPECT_EQ(unwritable_reason(""), "empty file name");
  tools::write_text_file(dir + "/mmusim_existing.csv", "x\n");
  EXPECT_EQ(unwritable_reason(dir + "/mmusim_existing.csv"), "") << "an existing file";
  EXPECT_EQ(unwritable_reason(dir + "/mmusim_existing.csv/x"),
            "no directory " + dir + "/mmusim_existing.csv")
      << "a file is not a directory";
}

TEST(ShellWords, QuotesWhatAShellWouldSplitOrExpand) {
  EXPECT_EQ(tools::shell_quote("--set"), "--set");
  EXPECT_EQ(tools::shell_quote("a=b,c"), "a=b,c");
  EXPECT_EQ(tools::shell_quote("two words"), "'two words'");
  EXPECT_EQ(tools::shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(tools::shell_quote("$HOME"), "'$HOME'");
  EXPECT_EQ(tools::shell_quote(""), "''");
  EXPECT_EQ(tools::shell_join({"mmusim", "run", "a b.scn"}), "mmusim run 'a b.scn'");
}

TEST(CsvText, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(tools::csv_row({"a", "b,c", "say \"hi\"", ""}), "a,\"b,c\",\"say \"\"hi\"\"\",");
  EXPECT_EQ(tools::number_text(3.0), "3");
  EXPECT_EQ(tools::number_text(0.25), "0.25");
  EXPECT_EQ(tools::number_text(0.0 / 0.0), "");
}

sweep::Json sample_stats() {
  return sweep::Json::parse(R"({
    "config": {"dtlb.array0.entries": {"value": "64", "unit": "entries"}},
    "result": {"passed": true, "cycles": 1234, "failures": []},
    "stats": {
      "mm.copies": {"value": 1, "unit": "pages"},
      "tb.faults.latency": {"count": 2, "sum": 10, "min": 4, "max": 6, "mean": 5.0, "p50": 4, "unit": "cycles"},
      "tb.faults.missing.latency": {"count": 0, "sum": 0, "min": 0, "max": 0, "mean": 0.0, "unit": "cycles"},
      "tb.flush.shootdown.latency": {"count": 1, "sum": 9, "min": 9, "max": 9, "mean": 9.0, "p50": 9, "unit": "cycles"},
      "tb.flush.shootdown.targets": {"count": 1, "sum": 1, "min": 1, "max": 1, "mean": 1.0, "p50": 1, "unit": "count"},
      "cpu0.walker.walk_cycles": {"count": 3, "sum": 9, "min": 3, "max": 3, "mean": 3.0, "unit": "cycles"}
    }})");
}

TEST(Metrics, PathsIntoTheStatsDocument) {
  const auto doc = sample_stats();
  EXPECT_EQ(sweep::metric_value(doc, "result.cycles").value, 1234);
  EXPECT_EQ(sweep::metric_value(doc, "config.dtlb.array0.entries").value, "64");
  EXPECT_EQ(sweep::metric_value(doc, "mm.copies").value, 1);
  EXPECT_EQ(sweep::metric_value(doc, "mm.copies.value").value, 1);
  EXPECT_EQ(sweep::metric_value(doc, "tb.faults.latency").value, 2);  // a distribution's count
  EXPECT_EQ(sweep::metric_value(doc, "tb.faults.latency.p50").value, 4);
  EXPECT_EQ(sweep::metric_value(doc, "tb.faults.latency.mean").value, 5.0);
  const auto empty = sweep::metric_value(doc, "tb.faults.missing.latency.p50");
  EXPECT_TRUE(empty.known);
  EXPECT_TRUE(empty.value.is_null());
  EXPECT_FALSE(sweep::metric_value(doc, "tb.faults.latency.p42").known);
  EXPECT_FALSE(sweep::metric_value(doc, "mm.copies.p50").known);
  EXPECT_FALSE(sweep::metric_value(doc, "mm.bogus").known);
  EXPECT_FALSE(sweep::metric_value(doc, "result.bogus").known);
  EXPECT_EQ(sweep::cell_text(sweep::Json(true)), "true");
  EXPECT_EQ(sweep::cell_text(sweep::Json()), "");
}

TEST(Metrics, DefaultsAreCyclesAndNonEmptyLatencyMedians) {
  const auto doc = sample_stats();
  EXPECT_EQ(sweep::default_metrics({&doc}),
            (Strings{"result.cycles", "tb.faults.latency.p50", "tb.flush.shootdown.latency.p50"}));
  EXPECT_EQ(sweep::default_metrics({}), (Strings{"result.cycles"}));
}

TEST(CowSuite, RunWithLinesGiveSettings) {
  EXPECT_EQ(cow::run_with_settings("# A\n# Run with --set a.b=1 --set c=2: because\nprocess P\n"),
            (Strings{"a.b=1", "c=2"}));
  EXPECT_EQ(cow::run_with_settings("# Run with --set x=1\n# Run with --set y=0\n"), (Strings{"x=1", "y=0"}));
  EXPECT_TRUE(cow::run_with_settings("# run with --set x=1\nprocess P # Run with --set y=0\n").empty());
}

TEST(CowSuite, OutcomeNamesTheFirstFailureKind) {
  const cow::SuiteEntry e{"spec/X", "X.scn", {}};
  auto doc = cow::Json::parse(R"({"known_bad": "L2: a reference", "result": {"cycles": 10, "failures": [
      {"where": "X.scn:3:1", "kind": "missed COW", "message": "C read 2"}]},
      "stats": {"mm.faults_total": {"value": 3.0}}})");
  const auto failed = cow::outcome(e, 1, doc, "");
  EXPECT_EQ(failed.result, "FAIL (missed COW)");
  EXPECT_EQ(failed.known_bad, "L2");
  EXPECT_EQ(failed.cycles, 10u);
  EXPECT_EQ(failed.faults, 3u);
  EXPECT_EQ(failed.detail, "X.scn:3:1: missed COW: C read 2");
  EXPECT_EQ(cow::outcome(e, 0, doc, "").result, "pass");
  const auto bad = cow::outcome(e, 2, std::nullopt, "\nX.scn:1:1: error: unknown step\n");
  EXPECT_EQ(bad.result, "FAIL (bad input)");
  EXPECT_EQ(bad.detail, "X.scn:1:1: error: unknown step");
  EXPECT_EQ(cow::outcome(e, 139, std::nullopt, "").result, "FAIL (signal 11)");
}

TEST(ProcessPool, RunsEveryJobAndReportsStatuses) {
  std::vector<tools::Job> jobs{{{"/bin/sh", "-c", "exit 0"}, ""},
                               {{"/bin/sh", "-c", "exit 3"}, ""},
                               {{"/bin/sh", "-c", "kill -9 $$"}, ""},
                               {{"/nonexistent/program"}, ""}};
  std::size_t calls = 0;
  const auto statuses = tools::run_jobs(jobs, 2, [&calls](std::size_t, int) { ++calls; });
  EXPECT_EQ(statuses, (std::vector<int>{0, 3, 128 + 9, 127}));
  EXPECT_EQ(calls, 4u);
}

}  // namespace
}  // namespace mmusim::testbench
