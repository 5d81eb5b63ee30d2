// mmusim_bench: simulated memory accesses per host second on the SystemC machine, beside a
// baseline measured in the same run (bench/README.md). SystemC elaborates once per process, so
// every case runs in a child process and sends its figures back through a pipe.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <systemc>

#include "workloads.h"

namespace {

using mmusim::bench::CaseResult;
using mmusim::bench::CaseSpec;
using mmusim::bench::Stream;

// Targets for the L1-hit stream (issue 3).
constexpr double kTargetRate = 25e6;
constexpr double kTargetRatio = 0.25;

struct Options {
  std::uint64_t hit_accesses = 40'000'000;
  std::uint64_t miss_accesses = 4'000'000;
  bool check = false;
  bool dump_stats = false;
  bool run_hit = true;
  bool run_miss = true;
};

void usage(const char* argv0) {
  std::printf(
      "usage: %s [--quick] [--hit-accesses N] [--miss-accesses N] [--only hit|miss] [--check]\n"
      "          [--dump-stats]\n"
      "  Runs each stream on 1 and 4 cores and prints simulated accesses per host second beside\n"
      "  a std::unordered_map lookup loop over the same page numbers.\n"
      "  --quick            small sizes (1M L1-hit accesses, 200k TLB-miss accesses per case)\n"
      "  --hit-accesses N   accesses per L1-hit case, over all cores (default 40000000)\n"
      "  --miss-accesses N  accesses per TLB-miss case, over all cores (default 4000000)\n"
      "  --only hit|miss    run only the L1-hit or only the TLB-miss stream\n"
      "  --check            exit 1 if the L1-hit stream misses its targets (>= 25 M/s and\n"
      "                     >= 0.25 of the baseline)\n"
      "  --dump-stats       print every statistic of each case (to compare two builds'\n"
      "                     simulated results with diff)\n",
      argv0);
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto number = [&](std::uint64_t& out) {
      if (i + 1 >= argc) return false;
      char* end = nullptr;
      out = std::strtoull(argv[++i], &end, 10);
      return end != nullptr && *end == '\0' && out > 0;
    };
    if (a == "--quick") {
      o.hit_accesses = 1'000'000;
      o.miss_accesses = 200'000;
    } else if (a == "--hit-accesses") {
      if (!number(o.hit_accesses)) return false;
    } else if (a == "--miss-accesses") {
      if (!number(o.miss_accesses)) return false;
    } else if (a == "--only" && i + 1 < argc) {
      const std::string which = argv[++i];
      if (which != "hit" && which != "miss") return false;
      o.run_hit = which == "hit";
      o.run_miss = which == "miss";
    } else if (a == "--check") {
      o.check = true;
    } else if (a == "--dump-stats") {
      o.dump_stats = true;
    } else {
      return false;
    }
  }
  return true;
}

// Runs one case in a child process; false (with a message) if the child failed.
bool run_in_child(const CaseSpec& spec, CaseResult& out) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    close(fds[0]);
    int code = 0;
    try {
      const CaseResult r = mmusim::bench::run_case(spec);
      if (write(fds[1], &r, sizeof r) != static_cast<ssize_t>(sizeof r)) code = 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", mmusim::bench::stream_name(spec.stream), e.what());
      code = 1;
    }
    _exit(code);
  }
  close(fds[1]);
  const ssize_t got = read(fds[0], &out, sizeof out);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return got == static_cast<ssize_t>(sizeof out) && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

int sc_main(int argc, char** argv) {
  Options opt;
  if (!parse(argc, argv, opt)) {
    usage(argv[0]);
    return 2;
  }
  std::printf("mmusim_bench: simulated accesses per host second (M = 10^6)\n");
  std::printf("  baseline: the same page numbers looked up in a std::unordered_map, same run\n");
  std::printf("  tlb_miss_stream maps 4 GiB of virtual memory (%llu pages) onto %llu physical\n"
              "  frames (frame = vpn mod %llu) to bound host memory\n\n",
              static_cast<unsigned long long>(mmusim::bench::kMissPages),
              static_cast<unsigned long long>(mmusim::bench::kMissFrames),
              static_cast<unsigned long long>(mmusim::bench::kMissFrames));
  std::printf("%-16s %5s %11s %8s %10s %12s %7s %9s %8s %10s %10s\n", "case", "cores",
              "accesses", "host_s", "sim_M/s", "baseline_M/s", "ratio", "cpu_ratio", "dtlb_hit",
              "walks/acc", "cyc/acc");
  bool targets_met = true;
  for (const Stream stream : {Stream::kL1Hit, Stream::kTlbMiss}) {
    if (!(stream == Stream::kL1Hit ? opt.run_hit : opt.run_miss)) continue;
    for (const unsigned cores : {1u, 4u}) {
      CaseSpec spec;
      spec.stream = stream;
      spec.cores = cores;
      spec.accesses = stream == Stream::kL1Hit ? opt.hit_accesses : opt.miss_accesses;
      spec.dump_stats = opt.dump_stats;
      CaseResult r;
      if (!run_in_child(spec, r)) {
        std::printf("%-16s %5u  failed\n", mmusim::bench::stream_name(stream), cores);
        targets_met = false;
        continue;
      }
      const double rate = static_cast<double>(r.accesses) / r.host_seconds;
      const double base = static_cast<double>(r.baseline_lookups) / r.baseline_seconds;
      const double per_core_cycles =
          static_cast<double>(r.simulated_cycles) * cores / static_cast<double>(r.accesses);
      // The same quotient with CPU time: what the ratio is when the host is not shared.
      const double cpu_ratio = (static_cast<double>(r.accesses) / r.host_cpu_seconds) /
                               (static_cast<double>(r.baseline_lookups) / r.baseline_cpu_seconds);
      std::printf("%-16s %5u %11llu %8.3f %10.2f %12.2f %7.3f %9.3f %7.1f%% %10.3f %10.1f\n",
                  mmusim::bench::stream_name(stream), cores,
                  static_cast<unsigned long long>(r.accesses), r.host_seconds, rate / 1e6,
                  base / 1e6, rate / base, cpu_ratio, 100.0 * r.dtlb_hit_ratio,
                  r.walks_per_access, per_core_cycles);
      if (stream == Stream::kL1Hit && (rate < kTargetRate || rate / base < kTargetRatio))
        targets_met = false;
    }
  }
  std::printf("\nl1_hit_stream targets (>= %.0f M/s and >= %.2f of the baseline): %s\n",
              kTargetRate / 1e6, kTargetRatio, targets_met ? "met" : "MISSED");
  return opt.check && !targets_met ? 1 : 0;
}
