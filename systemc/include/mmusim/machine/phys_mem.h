// Simulated physical memory: real bytes, stored sparsely (a frame gets storage on its first write;
// a frame never written reads as zero), plus the latency/bandwidth figures of MemoryParams.
//
// Addressing rules (a violation is a model bug, never silently wrong):
// - every byte accessed must lie below MemoryParams::size_bytes, else std::out_of_range naming
//   the address;
// - one access is 1..4096 bytes and does not cross a 4 KiB frame, else std::invalid_argument.
//
// The timed accessors (read/write/read64/write64/xchg64/cmpxchg64, zero_frame, copy_frame) count
// statistics; their cost is charged by the caller through the *_cost() helpers, so that the
// caller decides whether the cost lands on a core, a walk or an OS path. peek/poke are
// backdoors: no statistics, no cost (style habit 5).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "mmusim/arch/types.h"
#include "mmusim/machine/machine_config.h"
#include "mmusim/stats/stats.h"

namespace mmusim::machine {

class PhysMem {
 public:
  // Registers its statistics in a child group `name` of `parent` ("mem" in a Machine).
  PhysMem(const MemoryParams& params, stats::Group& parent, const std::string& name = "mem");
  PhysMem(const PhysMem&) = delete;
  PhysMem& operator=(const PhysMem&) = delete;

  std::uint64_t size_bytes() const { return params_.size_bytes; }
  std::uint64_t frames() const { return params_.size_bytes >> kPageShift; }
  const MemoryParams& params() const { return params_; }

  // Timed accesses (counted in reads/writes).
  void read(PhysAddr pa, void* dst, std::size_t len);
  void write(PhysAddr pa, const void* src, std::size_t len);
  std::uint64_t read64(PhysAddr pa);
  void write64(PhysAddr pa, std::uint64_t value);
  // Locked exchange (x86 XCHG with a memory operand): returns the old value. One read + one write.
  std::uint64_t xchg64(PhysAddr pa, std::uint64_t value);
  // Locked compare-exchange (x86 LOCK CMPXCHG): stores `desired` only if the memory holds
  // `expected`; returns the value found. Counts one read, and one write if it stored.
  std::uint64_t cmpxchg64(PhysAddr pa, std::uint64_t expected, std::uint64_t desired);

  // Whole-frame operations (the OS's clear_page / copy_page). zero_frame drops the storage.
  void zero_frame(Pfn pfn);
  void copy_frame(Pfn dst, Pfn src);

  // Costs in core cycles.
  Cycles read_cost() const { return params_.read_cycles; }
  Cycles write_cost() const { return params_.write_cycles; }
  Cycles copy_frame_cost() const;  // ceil(4096 / copy_bytes_per_cycle)
  Cycles zero_frame_cost() const;  // ceil(4096 / zero_bytes_per_cycle)

  // Backdoors (debugger / test setup / checkers): no statistics, no cost.
  std::uint64_t peek64(PhysAddr pa) const;
  void peek(PhysAddr pa, void* dst, std::size_t len) const;
  void poke64(PhysAddr pa, std::uint64_t value);
  void poke(PhysAddr pa, const void* src, std::size_t len);

  // Frames that currently hold storage (written since their last zero_frame).
  std::uint64_t frames_resident() const { return frames_.size(); }

 private:
  using Frame = std::array<std::uint8_t, kPageSize>;
  // The common case inline; check() throws, naming the problem.
  void check_fast(PhysAddr pa, std::size_t len) const {
    if (len - 1 >= kPageSize || pa >= params_.size_bytes || len > params_.size_bytes - pa ||
        (pa & (kPageSize - 1)) + len > kPageSize)
      check(pa, len);
  }
  void check(PhysAddr pa, std::size_t len) const;
  void check_pfn(Pfn pfn) const;
  const Frame* find(Pfn pfn) const;
  Frame& frame_for_write(Pfn pfn);
  void raw_read(PhysAddr pa, void* dst, std::size_t len) const;
  void raw_write(PhysAddr pa, const void* src, std::size_t len);

  MemoryParams params_;
  std::unordered_map<Pfn, std::unique_ptr<Frame>> frames_;
  // The last frame looked up (null: absent), so that a run of accesses to one frame skips the
  // hash lookup. Frames live on the heap (a rehash does not move them); erasing one resets it.
  mutable Pfn last_pfn_ = ~Pfn{0};
  mutable Frame* last_frame_ = nullptr;

  struct Stats {
    explicit Stats(stats::Group& parent, const std::string& name, const PhysMem& mem);
    stats::Group group;
    stats::Scalar reads;
    stats::Scalar writes;
    stats::Scalar frames_zeroed;
    stats::Scalar frames_copied;
    stats::Formula frames_resident;
  } stats_;
};

}  // namespace mmusim::machine
