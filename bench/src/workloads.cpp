#include "workloads.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <ctime>
#include <string>
#include <unordered_map>
#include <vector>

#include "mmusim/arch/x86_paging.h"
#include "mmusim/machine/core_interfaces.h"
#include "mmusim/machine/machine.h"
#include "mmusim/machine/phys_mem.h"
#include "mmusim/stats/stats.h"

namespace mmusim::bench {
namespace {

using machine::CoreOp;

constexpr VirtAddr kHitBase = 0x0000000000200000ull;   // 2 MiB
constexpr VirtAddr kMissBase = 0x0000100000000000ull;  // 16 TiB: PML4 index 32
constexpr unsigned kHitPagesPerCore = 4;
constexpr Pfn kDataBase = 4096;  // data frames start at 16 MiB; page tables live below
constexpr std::uint64_t kMemoryBytes = 64ull << 20;
constexpr x86::PteVal kLeaf = x86::kPresent | x86::kRw | x86::kUser | x86::kAccessed | x86::kDirty;

std::uint64_t lcg(std::uint64_t x) { return x * 6364136223846793005ull + 1442695040888963407ull; }
std::uint64_t seed_of(CpuId cpu) { return 0x9e3779b97f4a7c15ull * (cpu + 1); }

// One access of stream S for `cpu` from the generator state `x` (already advanced). The program
// and the baseline draw the same sequence with this same code (specialized per stream for both).
struct Access {
  VirtAddr va;
  bool store;
};
template <Stream S>
Access access_of(CpuId cpu, std::uint64_t x) {
  const VirtAddr offset = (x >> 8) & 0xff8;
  if constexpr (S == Stream::kL1Hit) {
    const std::uint64_t page = cpu * kHitPagesPerCore + ((x >> 33) & (kHitPagesPerCore - 1));
    return {kHitBase + page * kPageSize + offset, ((x >> 60) & 3) == 0};
  } else {
    const std::uint64_t vpn = (x >> 24) & (kMissPages - 1);
    return {kMissBase + vpn * kPageSize + offset, false};
  }
}

template <Stream S>
class StreamProgram final : public machine::CoreProgram {
 public:
  StreamProgram(unsigned cores, std::uint64_t per_core) {
    for (CpuId cpu = 0; cpu < cores; ++cpu) cpus_.push_back({seed_of(cpu), per_core});
  }
  bool next(CpuId cpu, CoreOp& op) override { return next_batch(cpu, &op, 1) == 1; }
  // The stream is fixed in advance: many operations per call (the same ones next() would give).
  unsigned next_batch(CpuId cpu, CoreOp* ops, unsigned max) override {
    PerCpu& c = cpus_[cpu];
    const unsigned n = c.left < max ? static_cast<unsigned>(c.left) : max;
    std::uint64_t x = c.x;
    for (unsigned i = 0; i < n; ++i) {
      x = lcg(x);
      const Access a = access_of<S>(cpu, x);
      CoreOp& op = ops[i];  // every field set once (no zeroing first)
      op.kind = a.store ? CoreOp::Kind::kStore : CoreOp::Kind::kLoad;
      op.va = a.va;
      op.value = x;
      op.size = 8;
      op.cycles = 0;
      op.token = 0;
    }
    c.x = x;
    c.left -= n;
    return n;
  }
  void completed(CpuId, const CoreOp&, std::uint64_t, Cycles) override { ++completed_; }
  // Counts only, and needs no store visibility: completions may come in runs.
  void completed_batch(CpuId, const machine::Completion*, unsigned n) override { completed_ += n; }
  bool watches_store_visibility() const override { return false; }
  void aborted(CpuId, const CoreOp&, Cycles) override { ++aborted_; }
  std::uint64_t completed_count() const { return completed_; }
  std::uint64_t aborted_count() const { return aborted_; }

 private:
  struct PerCpu {
    std::uint64_t x;
    std::uint64_t left;
  };
  std::vector<PerCpu> cpus_;
  std::uint64_t completed_ = 0;
  std::uint64_t aborted_ = 0;
};

// Every page is mapped before the run: a fault is a benchmark bug.
class NoFaults final : public machine::ExceptionVector {
 public:
  machine::FaultReply page_fault(CpuId cpu, VirtAddr va, std::uint32_t ec, Cycles) override {
    throw std::logic_error("benchmark: unexpected #PF on cpu" + std::to_string(cpu) + " at " +
                           std::to_string(va) + " (error code " + std::to_string(ec) + ")");
  }
  Cycles kernel_entry(CpuId, const CoreOp&, Cycles) override { return 0; }
};

// Builds 4-level tables through the backdoor (no statistics, no cost), allocating table frames
// from frame 1 up.
class TableBuilder {
 public:
  explicit TableBuilder(machine::PhysMem& mem) : mem_(mem) {}
  PhysAddr root() const { return pfn_to_phys(1); }
  void map(VirtAddr va, Pfn pfn) {
    PhysAddr table = root();
    for (unsigned level = x86::kLevels; level > 1; --level) {
      const PhysAddr entry = x86::entry_addr(table, va, level);
      x86::PteVal v = mem_.peek64(entry);
      if ((v & x86::kPresent) == 0) {
        v = x86::pfn_pte(next_table_++, x86::kTableFlags);
        if (next_table_ >= kDataBase) throw std::logic_error("benchmark: page tables overflow");
        mem_.poke64(entry, v);
      }
      table = v & x86::kAddrMask;
    }
    mem_.poke64(x86::entry_addr(table, va, 1), x86::pfn_pte(pfn, kLeaf));
  }

 private:
  machine::PhysMem& mem_;
  Pfn next_table_ = 2;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU time of this process (one thread: SystemC runs its processes as coroutines), which does
// not count the time other processes of a shared host take from it.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Every statistic as path=value, one a line (distributions: count/sum/min/max and the buckets),
// so that two builds' simulated outcomes can be compared with diff.
void dump_stats(const stats::Group& root, const CaseSpec& spec) {
  struct Dump : stats::Visitor {
    void scalar(const std::string& p, const stats::Scalar& s) override {
      std::printf("%s=%llu\n", p.c_str(), static_cast<unsigned long long>(s.value()));
    }
    void distribution(const std::string& p, const stats::Distribution& d) override {
      std::printf("%s=%llu/%llu/%llu/%llu", p.c_str(), static_cast<unsigned long long>(d.count()),
                  static_cast<unsigned long long>(d.sum()),
                  static_cast<unsigned long long>(d.min()),
                  static_cast<unsigned long long>(d.max()));
      for (const std::uint64_t b : d.buckets())
        std::printf(" %llu", static_cast<unsigned long long>(b));
      std::printf("\n");
    }
    void formula(const std::string& p, const stats::Formula& f) override {
      std::printf("%s=%.17g\n", p.c_str(), f.value());
    }
  } dump;
  std::printf("# stats of %s on %u cores, %llu accesses\n", stream_name(spec.stream), spec.cores,
              static_cast<unsigned long long>(spec.accesses));
  root.accept(dump);
  std::fflush(stdout);
}

double stat(const stats::Group& root, const std::string& path) {
  const stats::Stat* s = root.find(path);
  if (s == nullptr) throw std::logic_error("benchmark: no statistic " + path);
  return s->value_as_double();
}

// The baseline: the same page numbers looked up in a hash map, as a simulator without a timed
// TLB would translate.
template <Stream S>
void run_baseline(const CaseSpec& spec, std::uint64_t per_core, CaseResult& r) {
  std::unordered_map<std::uint64_t, std::uint64_t> frames;
  if (spec.stream == Stream::kL1Hit) {
    for (std::uint64_t p = 0; p < spec.cores * kHitPagesPerCore; ++p)
      frames[(kHitBase >> kPageShift) + p] = kDataBase + p;
  } else {
    frames.reserve(kMissPages);
    for (std::uint64_t vpn = 0; vpn < kMissPages; ++vpn)
      frames[(kMissBase >> kPageShift) + vpn] = kDataBase + vpn % kMissFrames;
  }
  const double cpu_start = cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t sum = 0;
  for (CpuId cpu = 0; cpu < spec.cores; ++cpu) {
    std::uint64_t x = seed_of(cpu);
    for (std::uint64_t i = 0; i < per_core; ++i) {
      x = lcg(x);
      const auto it = frames.find(access_of<S>(cpu, x).va >> kPageShift);
      sum += it == frames.end() ? 1 : it->second;
    }
  }
  r.baseline_seconds = seconds_since(start);
  r.baseline_cpu_seconds = cpu_seconds() - cpu_start;
  r.baseline_lookups = per_core * spec.cores;
  r.baseline_checksum = sum;  // kept, so that the loop is not optimized away
}

template <Stream S>
CaseResult run_stream(const CaseSpec& spec) {
  machine::MachineConfig config;  // the x86-server defaults
  config.cores = spec.cores;
  config.memory.size_bytes = kMemoryBytes;
  const std::uint64_t per_core = spec.accesses / spec.cores;
  stats::Group root("");
  StreamProgram<S> program(spec.cores, per_core);
  NoFaults vector;
  machine::Machine m(config, program, vector, root);

  TableBuilder tables(m.memory());
  if (spec.stream == Stream::kL1Hit) {
    for (std::uint64_t p = 0; p < spec.cores * kHitPagesPerCore; ++p)
      tables.map(kHitBase + p * kPageSize, kDataBase + p);
  } else {
    for (std::uint64_t vpn = 0; vpn < kMissPages; ++vpn)
      tables.map(kMissBase + vpn * kPageSize, kDataBase + vpn % kMissFrames);
  }
  for (CpuId cpu = 0; cpu < spec.cores; ++cpu) m.write_cr3(cpu, tables.root(), 1, false);

  CaseResult r;
  const double cpu_start = cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  m.run();
  r.host_seconds = seconds_since(start);
  r.host_cpu_seconds = cpu_seconds() - cpu_start;
  r.accesses = program.completed_count();
  if (program.aborted_count() != 0) throw std::logic_error("benchmark: accesses were aborted");

  double hits = 0, lookups = 0, walks = 0;
  for (CpuId cpu = 0; cpu < spec.cores; ++cpu) {
    const std::string c = "cpu" + std::to_string(cpu);
    hits += stat(root, c + ".dtlb.hits.load") + stat(root, c + ".dtlb.hits.store");
    lookups += stat(root, c + ".dtlb.accesses");
    walks += stat(root, c + ".walker.walks");
    r.simulated_cycles =
        std::max(r.simulated_cycles, static_cast<std::uint64_t>(stat(root, c + ".cycles")));
  }
  r.dtlb_hit_ratio = lookups > 0 ? hits / lookups : 0;
  r.walks_per_access = r.accesses > 0 ? walks / static_cast<double>(r.accesses) : 0;
  if (spec.dump_stats) dump_stats(root, spec);

  run_baseline<S>(spec, per_core, r);
  return r;
}

}  // namespace

const char* stream_name(Stream s) {
  return s == Stream::kL1Hit ? "l1_hit_stream" : "tlb_miss_stream";
}

CaseResult run_case(const CaseSpec& spec) {
  return spec.stream == Stream::kL1Hit ? run_stream<Stream::kL1Hit>(spec)
                                       : run_stream<Stream::kTlbMiss>(spec);
}

}  // namespace mmusim::bench
