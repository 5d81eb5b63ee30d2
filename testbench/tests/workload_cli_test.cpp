// The built-in workloads and the probes, through the mmusim binary: each test runs a command,
// reads its JSON output and checks properties of the table and statistics.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace {

struct CliRun {
  int exit_code = -1;
  nlohmann::json json;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// `mmusim ARGS --json FILE`; the JSON is read when the file was written.
CliRun mmusim(const std::string& args, bool with_json = true) {
  const std::string base = ::testing::TempDir() + "wl_" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const std::string json = base + ".json";
  std::remove(json.c_str());
  const std::string cmd = std::string("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 ") + MMUSIM_BIN + " " + args +
                          (with_json ? " --json " + json : "") + " >" + base + ".out 2>" + base + ".err";
  CliRun r;
  const int status = std::system(cmd.c_str());
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  const std::string text = with_json ? slurp(json) : "";
  if (!text.empty()) r.json = nlohmann::json::parse(text);
  return r;
}

const nlohmann::json& rows(const CliRun& r) { return r.json.at("workload").at("rows"); }
double stat(const CliRun& r, const std::string& path, const char* field = "count") {
  return r.json.at("stats").at(path).at(field).get<double>();
}
double param(const CliRun& r, const std::string& name) {
  return std::stod(r.json.at("config").at(name).at("value").get<std::string>());
}

TEST(Probes, StolenCyclesPerTargetAndPerCoreLatencies) {
  const CliRun r = mmusim(std::string("run ") + MMUSIM_SOURCE_DIR +
                       "/testbench/tests/probes/shootdown.scn --set core.invlpg_cycles=100 "
                       "--set interconnect.ipi_handler_entry_cycles=500 --set interconnect.ipi_handler_exit_cycles=200");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Each target: entry 500 + 2 pages x INVLPG 100 + exit 200 (empty store buffers).
  EXPECT_EQ(stat(r, "tb.flush.shootdown.stolen_per_target", "count"), 2);
  EXPECT_EQ(stat(r, "tb.flush.shootdown.stolen_per_target", "min"), 900);
  EXPECT_EQ(stat(r, "tb.flush.shootdown.stolen_per_target", "max"), 900);
  EXPECT_EQ(stat(r, "tb.flush.shootdown.targets", "sum"), 2);
  // The initiator's latency: 2 sends, delivery, then the second target's handler and its ack.
  const double expected = 2 * param(r, "interconnect.ipi_send_cycles") + param(r, "interconnect.ipi_delivery_cycles") +
                          900 + param(r, "interconnect.ipi_ack_cycles");
  EXPECT_EQ(stat(r, "tb.cpu0.flush.shootdown.latency", "max"), expected);
  EXPECT_EQ(stat(r, "tb.cpu0.flush.local_page.latency", "sum"), 200);
  EXPECT_EQ(stat(r, "tb.cpu1.faults.latency", "count"), 0);
  EXPECT_EQ(stat(r, "tb.cpu0.faults.latency", "sum"), stat(r, "tb.faults.latency", "sum"));
  EXPECT_FALSE(r.json.at("stats").contains("tb.cpu3.faults.latency")) << "only the cores the scenario uses";
}

TEST(Workloads, ListNamesEveryWorkload) {
  const CliRun r = mmusim("workload list", false);
  ASSERT_EQ(r.exit_code, 0);
  for (const char* name : {"page_fault1", "zero_page", "cow_parent_write", "cow_child_write", "cow_reuse", "unshare",
                           "mprotect", "madvise_dontneed", "munmap", "fork"})
    EXPECT_NE(r.out.find(name), std::string::npos) << name;
}

TEST(Workloads, PageFault1TakesOneMissingFaultPerPageOnEachCore) {
  const CliRun r = mmusim("workload page_fault1 --size 24p --threads 3 --cores 2 --iterations 2");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_EQ(rows(r).size(), 6u);  // 3 threads x 2 iterations
  for (const auto& row : rows(r)) {
    EXPECT_EQ(row.at("faults"), 24);
    EXPECT_EQ(row.at("kind"), "missing");
    EXPECT_GT(row.at("latency").get<double>(), 0);
  }
  EXPECT_EQ(rows(r)[1].at("cpu"), 1);
  EXPECT_EQ(rows(r)[2].at("cpu"), 0);  // thread 2 on core 2 % 2
  EXPECT_EQ(stat(r, "tb.faults.missing.latency"), 144);
  EXPECT_EQ(stat(r, "tb.cpu1.faults.latency"), 48);
  EXPECT_EQ(r.json.at("workload").at("parameters").at("threads"), 3);
  EXPECT_EQ(r.json.at("schema_version"), 2);
}

TEST(Workloads, ZeroPageThenWpZero) {
  const CliRun r = mmusim("workload zero_page --size 16p");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_EQ(rows(r).size(), 2u);
  EXPECT_EQ(rows(r)[0].at("kind"), "zero_page");
  EXPECT_EQ(rows(r)[0].at("faults"), 16);
  EXPECT_EQ(rows(r)[1].at("kind"), "wp_zero");
  EXPECT_EQ(rows(r)[1].at("faults"), 16);
}

TEST(Workloads, CowParentAndChildWritesCopy) {
  for (const char* who : {"parent", "child"}) {
    const CliRun r = mmusim(std::string("workload cow_") + who + "_write --size 12p --cores 2");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto& write = rows(r)[2];
    EXPECT_EQ(write.at("step"), std::string(who) + " write #1");
    EXPECT_EQ(write.at("kind"), "wp_copy");
    EXPECT_EQ(write.at("faults"), 12);
    EXPECT_EQ(write.at("cpu"), std::string(who) == "child" ? 1 : 0);
    EXPECT_EQ(stat(r, "mm.copies", "value"), 12);
    EXPECT_EQ(rows(r)[3].at("faults"), 0) << "the other side reads its own pages without faults";
  }
}

TEST(Workloads, CowReuseAfterTheChildExited) {
  const CliRun r = mmusim("workload cow_reuse --size 10p --iterations 2");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(rows(r)[3].at("kind"), "wp_reuse");
  EXPECT_EQ(rows(r)[3].at("faults"), 10);
  EXPECT_EQ(stat(r, "mm.faults.wp_reuse", "value"), 20);
  EXPECT_EQ(stat(r, "mm.copies", "value"), 0);
}

TEST(Workloads, UnshareCopiesWhileTheChildLivesAndMarksAfter) {
  const CliRun r = mmusim("workload unshare --size 8p");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(rows(r)[0].at("kind"), "unshare_copy");
  EXPECT_EQ(rows(r)[0].at("faults"), 8);
  EXPECT_EQ(rows(r)[1].at("kind"), "unshare_mark");
  EXPECT_EQ(rows(r)[1].at("faults"), 8);
}

// tlb_single_page_flush_ceiling: up to 33 pages INVLPG each, above it one full PCID flush; each
// operation shoots down the other cores.
void check_flush_table(const std::string& workload) {
  const CliRun r = mmusim("workload " + workload + " --size 36p --cores 3");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_EQ(rows(r).size(), 36u);
  const double entry = param(r, "interconnect.ipi_handler_entry_cycles");
  const double exit = param(r, "interconnect.ipi_handler_exit_cycles");
  for (const auto& row : rows(r)) {
    const int pages = row.at("pages");
    SCOPED_TRACE(workload + " pages=" + std::to_string(pages));
    EXPECT_EQ(row.at("flush"), pages <= 33 ? "local_page" : "local_full");
    EXPECT_EQ(row.at("invlpg").get<double>(), pages <= 33 ? pages : 0);
    EXPECT_EQ(row.at("shootdowns").get<double>(), 1);
    EXPECT_EQ(row.at("targets").get<double>(), 2) << "cores - 1";
    const double inval = pages <= 33 ? pages * param(r, "core.invlpg_cycles") : param(r, "core.flush_pcid_cycles");
    EXPECT_EQ(row.at("stolen_per_target").get<double>(), entry + inval + exit);
  }
  const std::string lat = workload == "mprotect" ? "ro_latency" : "latency";
  EXPECT_GT(rows(r)[32].at(lat).get<double>(), rows(r)[33].at(lat).get<double>()) << "the full flush is cheaper";
}

TEST(Workloads, MprotectShowsTheFlushCeiling) { check_flush_table("mprotect"); }
TEST(Workloads, MadviseDontneedShowsTheFlushCeiling) { check_flush_table("madvise_dontneed"); }
TEST(Workloads, MunmapShowsTheFlushCeiling) { check_flush_table("munmap"); }

TEST(Workloads, ForkLatencyGrowsWithSize) {
  const CliRun r = mmusim("workload fork --size 32p,256p,1024p");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_EQ(rows(r).size(), 3u);
  EXPECT_EQ(rows(r)[2].at("pages"), 1024);
  EXPECT_LT(rows(r)[0].at("fork").get<double>(), rows(r)[1].at("fork").get<double>());
  EXPECT_LT(rows(r)[1].at("fork").get<double>(), rows(r)[2].at("fork").get<double>());
  // Classic fork touches every PTE: at least one PTE read per page.
  EXPECT_GE(rows(r)[2].at("fork").get<double>(), 1024 * param(r, "memory.read_cycles"));
}

TEST(Workloads, JsonIsDeterministic) {
  const CliRun a = mmusim("workload mprotect --size 4p --cores 2");
  const CliRun b = mmusim("workload mprotect --size 4p --cores 2");
  ASSERT_EQ(a.exit_code, 0);
  EXPECT_EQ(a.json.dump(), b.json.dump());
}

TEST(Workloads, PrintScenarioIsAScenario) {
  const CliRun r = mmusim("workload page_fault1 --size 2p --print-scenario", false);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("write P R0_1 0 pages=2"), std::string::npos) << r.out;
}

TEST(Workloads, MemoryIsRaisedToFit) {
  const CliRun r = mmusim("workload page_fault1 --size 8M --set memory.size_bytes=1048576 --set mm.check_invariants=0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(param(r, "memory.size_bytes"), 8 << 20);
}

TEST(Workloads, BadParametersAreErrors) {
  struct Case {
    const char* args;
    const char* message;
  };
  for (const Case& c : {Case{"workload nosuch", "unknown workload 'nosuch'"},
                        Case{"workload page_fault1 --size 0", "bad size"},
                        Case{"workload page_fault1 --size 3000", "not a multiple of 4 KiB"},
                        Case{"workload page_fault1 --size 1M,2M", "takes one size"},
                        Case{"workload page_fault1 --cores 0", "--cores 0"},
                        Case{"workload page_fault1 --cores 4 --threads 2", "at least 4 threads"},
                        Case{"workload mprotect --size 32M", "at most 4096"},
                        Case{"workload cow_reuse --cores 3", "1 or 2 cores"},
                        Case{"workload page_fault1 --size 65536G", "simulated memory"},
                        Case{"workload page_fault1 --size 64T", "bad size"},
                        Case{"workload page_fault1 --progress sometimes", "progress"}}) {
    const CliRun r = mmusim(c.args, false);
    EXPECT_EQ(r.exit_code, 2) << c.args;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << ": " << r.err;
  }
}

}  // namespace
