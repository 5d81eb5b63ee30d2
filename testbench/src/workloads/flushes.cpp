// Flush workloads: mprotect, MADV_DONTNEED and munmap of 1..N pages in a process whose threads
// have touched the range on every core (the shape of will-it-scale tlb_flush1), so that each
// operation flushes locally and shoots down the other cores. The local flush turns from INVLPG
// per page into a full PCID flush above tlb_single_page_flush_ceiling (33 pages).
#include <fmt/format.h>

#include "common.h"

namespace mmusim::testbench {
namespace {

using wl::actor_name;
using wl::pages_of;

const char* const kLocalPage = "tb.flush.local_page.latency";
const char* const kLocalFull = "tb.flush.local_full.latency";
const char* const kShootdown = "tb.flush.shootdown.latency";
const char* const kTargets = "tb.flush.shootdown.targets";
const char* const kStolen = "tb.flush.shootdown.stolen_per_target";

enum class Op { kMprotect, kDontneed, kMunmap };

// Where munmap's mappings go (MAP_FIXED), far below the kernel's top-down choices.
constexpr std::uint64_t kMunmapBase = 0x100000000000;

// Mean over the iterations of a row's operation steps (`ops`), and of mprotect's RW steps.
RowMaker flush_row(std::uint64_t pages, std::vector<std::size_t> ops, std::vector<std::size_t> second) {
  return [=](const RunView& v) {
    double cycles = 0, cycles2 = 0, invlpg = 0, full = 0, sd = 0, sd_sum = 0, targets = 0, st_n = 0, st_sum = 0;
    for (std::size_t s : ops) {
      cycles += static_cast<double>(v.cycles(s));
      invlpg += v.count(s, kLocalPage);
      full += v.count(s, kLocalFull);
      sd += v.count(s, kShootdown);
      sd_sum += v.sum(s, kShootdown);
      targets += v.sum(s, kTargets);
      st_n += v.count(s, kStolen);
      st_sum += v.sum(s, kStolen);
    }
    for (std::size_t s : second) cycles2 += static_cast<double>(v.cycles(s));
    const double n = static_cast<double>(ops.size());
    const std::string flush = full > 0 && invlpg > 0 ? "local_page+local_full"
                              : full > 0             ? "local_full"
                              : invlpg > 0           ? "local_page"
                                                     : "none";
    std::vector<Cell> row{pages, flush, cycles / n};
    if (!second.empty()) row.push_back(cycles2 / static_cast<double>(second.size()));
    row.insert(row.end(), {Cell(invlpg / n), Cell(sd / n), Cell(sd > 0 ? targets / sd : 0.0),
                           Cell(sd > 0 ? sd_sum / sd : 0.0), Cell(st_n > 0 ? st_sum / st_n : 0.0)});
    return row;
  };
}

// Every thread reads the first k pages, so that each core caches their translations (and the
// mm's cpumask holds every core).
void touch(const WorkloadParams& p, ScenarioBuilder& b, const std::string& region, std::uint64_t k) {
  for (unsigned t = 1; t < p.threads; ++t) b.step(fmt::format("read {} {} pages={}", actor_name("P", t), region, k));
}

void build_flush(const WorkloadParams& p, ScenarioBuilder& b, Op op) {
  const std::uint64_t n = pages_of(p.sizes[0]);
  b.step("process P cpu=0");
  for (unsigned t = 1; t < p.threads; ++t) b.step(fmt::format("thread P.t{} cpu={}", t, t % p.cores));
  if (op != Op::kMunmap) {
    b.step(fmt::format("mmap P A {}", n));
    b.step(fmt::format("write P A 1 pages={}", n));
  }
  std::vector<std::vector<std::size_t>> first(n + 1), second(n + 1);
  for (unsigned it = 1; it <= p.iterations; ++it) {
    for (std::uint64_t k = 1; k <= n; ++k) {
      switch (op) {
        case Op::kMprotect:
          touch(p, b, "A", k);
          first[k].push_back(b.step(fmt::format("mprotect P A prot=r pages={}", k)));
          second[k].push_back(b.step(fmt::format("mprotect P A prot=rw pages={}", k)));
          break;
        case Op::kDontneed:
          b.step(fmt::format("write P A 1 pages={}", k));
          touch(p, b, "A", k);
          first[k].push_back(b.step(fmt::format("madvise P A dontneed pages={}", k)));
          break;
        case Op::kMunmap: {
          // A fresh mapping of k+1 pages at its own 2 MiB-aligned address loses its first k
          // pages: its last page keeps the PTE table, so the step measures the k pages' zap and
          // flush alone, not the freeing of a table.
          const std::string r = fmt::format("R{}_{}", k, it);
          const std::uint64_t stride = (n + 1 + 511) / 512 * (2ull << 20);
          const std::uint64_t at = kMunmapBase + ((it - 1) * n + k) * stride;
          b.step(fmt::format("mmap P {} {} at={:#x}", r, k + 1, at));
          b.step(fmt::format("write P {} 1 pages={}", r, k + 1));
          touch(p, b, r, k);
          first[k].push_back(b.step(fmt::format("munmap P {} pages={}", r, k)));
          break;
        }
      }
    }
  }
  for (std::uint64_t k = 1; k <= n; ++k) b.row(flush_row(k, first[k], second[k]));
}

Workload flush_workload(std::string name, std::string description, Op op) {
  Workload w;
  w.name = std::move(name);
  w.family = "flushes";
  w.description = std::move(description);
  w.mirrors = op == Op::kDontneed ? "will-it-scale tlb_flush1 (write a range, MADV_DONTNEED it, again; threads on other cores)"
              : op == Op::kMprotect ? "the shape of will-it-scale tlb_flush1, with mprotect"
                                    : "munmap latency (LATR, anchors.md B.1)";
  w.defaults.sizes = {64 * kPageSize};
  w.defaults.cores = 2;
  w.defaults.threads = 2;
  w.columns = {{"pages", "pages"}, {"flush", ""}, {op == Op::kMprotect ? "ro_latency" : "latency", "cycles"}};
  if (op == Op::kMprotect) w.columns.push_back({"rw_latency", "cycles"});
  w.columns.insert(w.columns.end(), {{"invlpg", "count"},
                                     {"shootdowns", "count"},
                                     {"targets", "cpus"},
                                     {"shootdown", "cycles"},
                                     {"stolen_per_target", "cycles"}});
  w.watch = {kLocalPage, kLocalFull, kShootdown, kTargets, kStolen};
  w.memory_needed = [](const WorkloadParams& p) { return wl::memory_for(pages_of(p.sizes[0]) + 1, 1); };
  w.check = [](const WorkloadParams& p) {
    // One row and a few steps per page count: a range of 1..N pages is for small N.
    if (pages_of(p.sizes[0]) > 4096)
      throw WorkloadError(fmt::format("--size {}: the flush workloads sweep 1..N pages, N at most 4096 (16M)",
                                      size_name(p.sizes[0])));
  };
  w.build = [op](const WorkloadParams& p, ScenarioBuilder& b) { build_flush(p, b, op); };
  return w;
}

}  // namespace

void add_flush_workloads(std::vector<Workload>& out) {
  out.push_back(flush_workload("mprotect", "mprotect RO then RW of 1..N pages touched by every thread", Op::kMprotect));
  out.push_back(flush_workload("madvise_dontneed", "MADV_DONTNEED of 1..N pages touched by every thread",
                               Op::kDontneed));
  out.push_back(flush_workload("munmap", "munmap of 1..N pages (of a fresh mapping one page longer) touched by every thread",
                               Op::kMunmap));
}

}  // namespace mmusim::testbench
