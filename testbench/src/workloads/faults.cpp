// Fault workloads: first touch (will-it-scale page_fault1), the zero page, copy-on-write after
// fork from either side or after the child's exit, and GUP unshare by R/O pins after fork.
#include <fmt/format.h>

#include "common.h"

namespace mmusim::testbench {
namespace {

using wl::actor_name;
using wl::fault_row;
using wl::pages_of;

void reject_threads(const WorkloadParams& p, const char* name) {
  if (p.threads != p.cores)
    throw WorkloadError(fmt::format("{} runs a parent and a child process (the child on the last core): "
                                    "--threads does not apply",
                                    name));
  if (p.cores > 2) throw WorkloadError(fmt::format("--cores {}: {} uses 1 or 2 cores", p.cores, name));
}

// page_fault1: each thread maps its own chunk, writes 0 to every page of it (one missing fault
// each), and unmaps it; again for every iteration.
void build_page_fault1(const WorkloadParams& p, ScenarioBuilder& b) {
  const std::uint64_t n = pages_of(p.sizes[0]);
  b.step("process P cpu=0");
  for (unsigned t = 1; t < p.threads; ++t) b.step(fmt::format("thread P.t{} cpu={}", t, t % p.cores));
  for (unsigned it = 1; it <= p.iterations; ++it) {
    for (unsigned t = 0; t < p.threads; ++t) b.step(fmt::format("mmap {} R{}_{} {}", actor_name("P", t), t, it, n));
    for (unsigned t = 0; t < p.threads; ++t) {
      const std::size_t s = b.step(fmt::format("write {} R{}_{} 0 pages={}", actor_name("P", t), t, it, n));
      b.row(fault_row(fmt::format("touch t{} #{}", t, it), t % p.cores, n, s, s));
    }
    for (unsigned t = 0; t < p.threads; ++t) b.step(fmt::format("munmap {} R{}_{}", actor_name("P", t), t, it));
  }
}

// zero_page: a read maps the zero page, the write that follows replaces it (wp_zero).
void build_zero_page(const WorkloadParams& p, ScenarioBuilder& b) {
  const std::uint64_t n = pages_of(p.sizes[0]);
  b.step("process P cpu=0");
  for (unsigned t = 1; t < p.threads; ++t) b.step(fmt::format("thread P.t{} cpu={}", t, t % p.cores));
  for (unsigned it = 1; it <= p.iterations; ++it) {
    for (unsigned t = 0; t < p.threads; ++t) {
      const std::string who = actor_name("P", t);
      b.step(fmt::format("mmap {} R{}_{} {}", who, t, it, n));
      std::size_t s = b.step(fmt::format("read {} R{}_{} pages={} expect 0", who, t, it, n));
      b.row(fault_row(fmt::format("read t{} #{}", t, it), t % p.cores, n, s, s));
      s = b.step(fmt::format("write {} R{}_{} 0 pages={}", who, t, it, n));
      b.row(fault_row(fmt::format("write t{} #{}", t, it), t % p.cores, n, s, s));
      b.step(fmt::format("munmap {} R{}_{}", who, t, it));
    }
  }
}

enum class CowWriter { kParent, kChild, kParentAfterExit };

// Populate (value 1), fork, then one side writes 2: a copy for whoever writes while the other
// still maps the page, a reuse once the child has exited. The other side reads back 1.
void build_cow(const WorkloadParams& p, ScenarioBuilder& b, CowWriter writer) {
  const std::uint64_t n = pages_of(p.sizes[0]);
  const unsigned child_cpu = p.cores - 1;
  for (unsigned it = 1; it <= p.iterations; ++it) {
    const std::string P = fmt::format("P{}", it), C = fmt::format("C{}", it), A = fmt::format("A{}", it);
    b.step(fmt::format("process {} cpu=0", P));
    b.step(fmt::format("mmap {} {} {}", P, A, n));
    std::size_t s = b.step(fmt::format("write {} {} 1 pages={}", P, A, n));
    b.row(fault_row(fmt::format("populate #{}", it), 0, n, s, s));
    s = b.step(fmt::format("fork {} {} cpu={}", P, C, child_cpu));
    b.row(fault_row(fmt::format("fork #{}", it), 0, n, s, s));
    switch (writer) {
      case CowWriter::kParent:
        s = b.step(fmt::format("write {} {} 2 pages={}", P, A, n));
        b.row(fault_row(fmt::format("parent write #{}", it), 0, n, s, s));
        s = b.step(fmt::format("read {} {} pages={} expect 1", C, A, n));
        b.row(fault_row(fmt::format("child read #{}", it), child_cpu, n, s, s));
        b.step(fmt::format("exit {}", C));
        break;
      case CowWriter::kChild:
        s = b.step(fmt::format("write {} {} 2 pages={}", C, A, n));
        b.row(fault_row(fmt::format("child write #{}", it), child_cpu, n, s, s));
        s = b.step(fmt::format("read {} {} pages={} expect 1", P, A, n));
        b.row(fault_row(fmt::format("parent read #{}", it), 0, n, s, s));
        b.step(fmt::format("exit {}", C));
        break;
      case CowWriter::kParentAfterExit:
        s = b.step(fmt::format("exit {}", C));
        b.row(fault_row(fmt::format("child exit #{}", it), child_cpu, n, s, s));
        s = b.step(fmt::format("write {} {} 2 pages={}", P, A, n));
        b.row(fault_row(fmt::format("parent write #{}", it), 0, n, s, s));
        break;
    }
    b.step(fmt::format("exit {}", P));
  }
}

// R/O pins (FOLL_PIN, FOLL_LONGTERM) of pages shared with a child after fork: GUP unshares them
// (FAULT_FLAG_UNSHARE), by a copy while the child maps them, by marking them exclusive after
// the child has exited.
void build_unshare(const WorkloadParams& p, ScenarioBuilder& b) {
  const std::uint64_t n = pages_of(p.sizes[0]);
  const unsigned child_cpu = p.cores - 1;
  for (unsigned it = 1; it <= p.iterations; ++it) {
    const std::string P = fmt::format("P{}", it), C = fmt::format("C{}", it);
    const std::string A = fmt::format("A{}", it), B = fmt::format("B{}", it);
    b.step(fmt::format("process {} cpu=0", P));
    b.step(fmt::format("mmap {} {} {}", P, A, n));
    b.step(fmt::format("mmap {} {} {}", P, B, n));
    b.step(fmt::format("write {} {} 1 pages={}", P, A, n));
    b.step(fmt::format("write {} {} 1 pages={}", P, B, n));
    b.step(fmt::format("fork {} {} cpu={}", P, C, child_cpu));
    std::size_t first = 0, last = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      last = b.step(fmt::format("pin {} {}+{}p as X{}_{} longterm", P, A, i, it, i));
      if (i == 0) first = last;
    }
    b.row(fault_row(fmt::format("pin, child alive #{}", it), 0, n, first, last, "tb.syscalls.pin"));
    b.step(fmt::format("exit {}", C));
    for (std::uint64_t i = 0; i < n; ++i) {
      last = b.step(fmt::format("pin {} {}+{}p as Y{}_{} longterm", P, B, i, it, i));
      if (i == 0) first = last;
    }
    b.row(fault_row(fmt::format("pin, child exited #{}", it), 0, n, first, last, "tb.syscalls.pin"));
    for (std::uint64_t i = 0; i < n; ++i) b.step(fmt::format("unpin X{}_{}", it, i));
    for (std::uint64_t i = 0; i < n; ++i) b.step(fmt::format("unpin Y{}_{}", it, i));
    b.step(fmt::format("exit {}", P));
  }
}

Workload fault_workload(std::string name, std::string description, std::string mirrors, std::uint64_t size,
                        bool takes_threads) {
  Workload w;
  w.name = std::move(name);
  w.family = "faults";
  w.description = std::move(description);
  w.mirrors = std::move(mirrors);
  w.defaults.sizes = {size};
  w.columns = wl::fault_columns();
  w.watch = wl::fault_watch();
  const std::string wname = w.name;
  if (takes_threads) {
    w.memory_needed = [](const WorkloadParams& p) {
      return wl::memory_for(pages_of(p.sizes[0]) * p.threads, 1);
    };
  } else {
    w.check = [wname](const WorkloadParams& p) { reject_threads(p, wname.c_str()); };
    // Parent and child may each hold a copy of every page (unshare: two regions).
    w.memory_needed = [wname](const WorkloadParams& p) {
      return wl::memory_for(pages_of(p.sizes[0]) * (wname == "unshare" ? 4 : 2), 2);
    };
  }
  return w;
}

}  // namespace

void add_fault_workloads(std::vector<Workload>& out) {
  Workload w = fault_workload("page_fault1", "first-touch write faults: each thread writes 0 to every page of its own chunk, then unmaps it",
                              "will-it-scale page_fault1 (threads mode)", 16ull << 20, true);
  w.build = build_page_fault1;
  out.push_back(std::move(w));

  w = fault_workload("zero_page", "read then write every page: a zero-page fault, then a wp_zero fault per page",
                     "will-it-scale page_fault1 with a read before the write", 16ull << 20, true);
  w.build = build_zero_page;
  out.push_back(std::move(w));

  w = fault_workload("cow_parent_write", "populate, fork, the parent writes every page: one wp_copy fault per page",
                     "fork + write micro-benchmark (anchors.md B.2: COW fault)", 16ull << 20, false);
  w.build = [](const WorkloadParams& p, ScenarioBuilder& b) { build_cow(p, b, CowWriter::kParent); };
  out.push_back(std::move(w));

  w = fault_workload("cow_child_write", "populate, fork, the child writes every page: one wp_copy fault per page",
                     "fork + write micro-benchmark (anchors.md B.2: COW fault)", 16ull << 20, false);
  w.build = [](const WorkloadParams& p, ScenarioBuilder& b) { build_cow(p, b, CowWriter::kChild); };
  out.push_back(std::move(w));

  w = fault_workload("cow_reuse", "populate, fork, the child exits, the parent writes every page: wp_reuse faults",
                     "fork + exit + write (the page is exclusive again: no copy)", 16ull << 20, false);
  w.build = [](const WorkloadParams& p, ScenarioBuilder& b) { build_cow(p, b, CowWriter::kParentAfterExit); };
  out.push_back(std::move(w));

  w = fault_workload("unshare", "R/O long-term pins after fork: unshare_copy while the child lives, unshare_mark after it exits",
                     "gup_test pin_longterm (tools/testing/selftests/mm) after fork", 256ull << 10, false);
  w.build = build_unshare;
  out.push_back(std::move(w));
}

}  // namespace mmusim::testbench
