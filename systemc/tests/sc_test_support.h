// Shared by the SystemC tests of the core and the multi-core machine: a scripted program, an
// exception vector whose behaviour each test supplies, op builders, and a small machine
// configuration whose costs the tests compute by hand.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <vector>

#include "mmusim/machine/core_interfaces.h"
#include "mmusim/machine/machine_config.h"
#include "mmusim/stats/stats.h"

namespace mmusim::machine::testing {

// A scripted program per cpu; records what completed, aborted and became visible, and when.
struct Script : CoreProgram {
  struct Done {
    std::uint64_t token;
    std::uint64_t value;
    Cycles now;
    bool aborted;
  };
  struct Visible {
    std::uint64_t token;
    PhysAddr pa;
    Cycles now;
  };
  std::map<CpuId, std::vector<CoreOp>> ops;
  std::map<CpuId, std::size_t> pc;
  std::map<CpuId, std::vector<Done>> done;
  std::map<CpuId, std::vector<Visible>> visible;

  bool next(CpuId cpu, CoreOp& op) override {
    auto& list = ops[cpu];
    if (pc[cpu] >= list.size()) return false;
    op = list[pc[cpu]++];
    return true;
  }
  void completed(CpuId cpu, const CoreOp& op, std::uint64_t value, Cycles now) override {
    done[cpu].push_back({op.token, value, now, false});
  }
  void aborted(CpuId cpu, const CoreOp& op, Cycles now) override {
    done[cpu].push_back({op.token, 0, now, true});
  }
  void store_visible(CpuId cpu, const CoreOp& op, PhysAddr pa, Cycles now) override {
    visible[cpu].push_back({op.token, pa, now});
  }
};

// An exception vector whose behaviour each test supplies.
struct Vector : ExceptionVector {
  std::function<FaultReply(CpuId, VirtAddr, std::uint32_t, Cycles)> on_fault;
  std::function<Cycles(CpuId, const CoreOp&, Cycles)> on_kernel;
  std::vector<std::uint32_t> error_codes;
  FaultReply page_fault(CpuId cpu, VirtAddr va, std::uint32_t ec, Cycles now) override {
    error_codes.push_back(ec);
    if (!on_fault) {
      ADD_FAILURE() << "unexpected #PF at " << va;
      return {FaultOutcome::kAbort, 0};
    }
    return on_fault(cpu, va, ec, now);
  }
  Cycles kernel_entry(CpuId cpu, const CoreOp& op, Cycles now) override {
    return on_kernel ? on_kernel(cpu, op, now) : 0;
  }
};

inline CoreOp mem_op(CoreOp::Kind kind, VirtAddr va, std::uint64_t value, unsigned size,
                     std::uint64_t token) {
  CoreOp op;
  op.kind = kind;
  op.va = va;
  op.value = value;
  op.size = size;
  op.token = token;
  return op;
}
inline CoreOp load(VirtAddr va, unsigned size, std::uint64_t token) {
  return mem_op(CoreOp::Kind::kLoad, va, 0, size, token);
}
inline CoreOp store(VirtAddr va, std::uint64_t value, unsigned size, std::uint64_t token) {
  return mem_op(CoreOp::Kind::kStore, va, value, size, token);
}
inline CoreOp fetch(VirtAddr va, unsigned size, std::uint64_t token) {
  return mem_op(CoreOp::Kind::kFetch, va, 0, size, token);
}
inline CoreOp locked(VirtAddr va, std::uint64_t value, unsigned size, std::uint64_t token) {
  return mem_op(CoreOp::Kind::kLocked, va, value, size, token);
}
inline CoreOp simple(CoreOp::Kind kind, Cycles cycles = 0, std::uint64_t token = 0) {
  CoreOp op;
  op.kind = kind;
  op.cycles = cycles;
  op.token = token;
  return op;
}
inline CoreOp prefetch(VirtAddr va, std::uint64_t token) {
  return mem_op(CoreOp::Kind::kPrefetch, va, 0, 8, token);
}
inline CoreOp compute(Cycles c) { return simple(CoreOp::Kind::kCompute, c); }
inline CoreOp kernel(std::uint64_t token) { return simple(CoreOp::Kind::kKernel, 0, token); }
inline CoreOp fence() { return simple(CoreOp::Kind::kFence); }
inline CoreOp wait_op() { return simple(CoreOp::Kind::kWait); }

// Costs the tests compute by hand. TLBs: 4 KiB arrays only; no paging-structure caches, so every
// walk reads four levels.
inline constexpr Cycles kL1 = 1, kStlb = 2, kWalkStart = 5, kRead = 30, kWrite = 40;
inline constexpr Cycles kDrain = 4, kForward = 5, kFence = 30;
inline constexpr Cycles kInvlpg = 300, kFlushPcid = 300, kFlushAll = 600, kCr3 = 200;

inline MachineConfig small_config(unsigned cores = 1) {
  MachineConfig c;
  c.cores = cores;
  c.memory.size_bytes = 64 * kPageSize;
  c.memory.read_cycles = kRead;
  c.memory.write_cycles = kWrite;
  c.itlb.arrays = {};
  c.itlb.arrays[0] = {16, 4, kPage4K};
  c.itlb.hit_cycles = kL1;
  c.dtlb.arrays = {};
  c.dtlb.arrays[0] = {16, 4, kPage4K};
  c.dtlb.hit_cycles = kL1;
  c.stlb.arrays = {};
  c.stlb.arrays[0] = {64, 4, kPage4K};
  c.stlb.hit_cycles = kStlb;
  c.walker.walk_start_cycles = kWalkStart;
  c.walker.pml4e_cache = {};
  c.walker.pdpte_cache = {};
  c.walker.pde_cache = {};
  c.store_buffer.entries = 8;
  c.store_buffer.drain_cycles = kDrain;
  c.store_buffer.forward_cycles = kForward;
  c.core.clock_ps = 333;
  c.core.quantum_cycles = 1000;
  c.core.invlpg_cycles = kInvlpg;
  c.core.flush_pcid_cycles = kFlushPcid;
  c.core.flush_all_cycles = kFlushAll;
  c.core.cr3_write_cycles = kCr3;
  c.core.fence_cycles = kFence;
  return c;
}

inline std::uint64_t count(const stats::Group& g, const std::string& path) {
  const stats::Stat* s = g.find(path);
  EXPECT_NE(s, nullptr) << path;
  return s ? static_cast<std::uint64_t>(s->value_as_double()) : ~0ull;
}

// The distribution at `path`, or null (with a failure) if there is none.
inline const stats::Distribution* distribution(const stats::Group& g, const std::string& path) {
  const auto* d = dynamic_cast<const stats::Distribution*>(g.find(path));
  EXPECT_NE(d, nullptr) << path;
  return d;
}

}  // namespace mmusim::machine::testing
