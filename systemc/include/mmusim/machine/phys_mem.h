// Simulated physical memory: real bytes, stored sparsely (a frame gets storage on its first
// nonzero write; a frame never written reads as zero), plus the latency/bandwidth figures of MemoryParams.
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
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
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

  // Timed accesses (counted in reads/writes). Inline: they are on every simulated access.
  void read(PhysAddr pa, void* dst, std::size_t len) {
    raw_read(pa, dst, len);
    stats_.reads.inc();
  }
  void write(PhysAddr pa, const void* src, std::size_t len) {
    raw_write(pa, src, len);
    stats_.writes.inc();
  }
  // read() of `len` (1..8) bytes returned as a little-endian value, zero-extended: for the
  // per-access paths, where the value then stays in a register.
  std::uint64_t read_value(PhysAddr pa, unsigned len) {
    return counted_value(checked_find(pa, len), pa, len);
  }
  // read_value() for a caller that guarantees 1 <= len <= 8 and no frame crossing (the store
  // buffer, whose core checked the access): only the range is tested on the fast path.
  std::uint64_t read_value_in_frame(PhysAddr pa, unsigned len) {
    assert(len >= 1 && len <= 8 && (pa & (kPageSize - 1)) + len <= kPageSize);
    const Pfn pfn = phys_to_pfn(pa);
    return counted_value(__builtin_expect(pfn < indexed_, 1) ? index_[pfn] : checked_find(pa, len),
                         pa, len);
  }
  std::uint64_t read64(PhysAddr pa) {
    std::uint64_t v;
    read(pa, &v, sizeof v);
    return v;
  }
  void write64(PhysAddr pa, std::uint64_t value) { write(pa, &value, sizeof value); }
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
  // Throws, naming the problem, if the access breaks the addressing rules.
  void check(PhysAddr pa, std::size_t len) const;
  // The common case of the per-access paths, inline: true if the access is valid and its frame is
  // looked up in index_, the range check and the index test being one comparison (indexed_ <=
  // frames(), so a frame below indexed_ lies in memory); 1 <= len <= (bytes left in pa's frame)
  // is one unsigned comparison. False: check() (which throws or passes a frame above the index),
  // then find_unindexed().
  bool fast_frame(PhysAddr pa, std::size_t len) const {
    return phys_to_pfn(pa) < indexed_ && len - 1 < kPageSize - (pa & (kPageSize - 1));
  }
  // check() and find() of the access's frame.
  const Frame* checked_find(PhysAddr pa, std::size_t len) const {
    if (__builtin_expect(fast_frame(pa, len), 1)) return index_[phys_to_pfn(pa)];
    check(pa, len);
    return find_unindexed(phys_to_pfn(pa));
  }
  void check_pfn(Pfn pfn) const;
  // The frame's storage, or null if it has none. Frames below indexed_ are found in index_ (one
  // load), the others in the hash map.
  const Frame* find(Pfn pfn) const {
    if (pfn < indexed_) return index_[pfn];
    return find_unindexed(pfn);
  }
  const Frame* find_unindexed(Pfn pfn) const;
  Frame& frame_for_write(Pfn pfn) {
    if (pfn < indexed_ && index_[pfn] != nullptr) return *index_[pfn];
    return create_frame(pfn);
  }
  Frame& create_frame(Pfn pfn);
  // The frame's storage for a write, or null when the frame has none and the bytes written are
  // all zero: it reads as zero already (a first-touch page written with 0 costs no host memory).
  Frame* frame_for_nonzero_write(Pfn pfn, const void* src, std::size_t len);
  void drop_frame(Pfn pfn);
  // read_value()'s read of `len` (1..8) bytes from frame `f` (null: never written, zero).
  std::uint64_t counted_value(const Frame* f, PhysAddr pa, unsigned len) {
    stats_.reads.inc();
    std::uint64_t v = 0;
    if (f == nullptr) return v;
    const std::uint8_t* at = f->data() + (pa & (kPageSize - 1));
    if (len == 8)
      std::memcpy(&v, at, 8);
    else
      std::memcpy(&v, at, len);
    return v;
  }
  // 8-byte accesses (PTEs, most loads and stores) copy with a constant size, which the compiler
  // inlines. Little-endian host and target (phys_mem.cpp).
  void raw_read(PhysAddr pa, void* dst, std::size_t len) const {
    const Frame* f = checked_find(pa, len);
    if (f == nullptr)
      std::memset(dst, 0, len);
    else if (len == 8)
      std::memcpy(dst, f->data() + (pa & (kPageSize - 1)), 8);
    else
      std::memcpy(dst, f->data() + (pa & (kPageSize - 1)), len);
  }
  void raw_write(PhysAddr pa, const void* src, std::size_t len) {
    const Pfn pfn = phys_to_pfn(pa);
    Frame* f = nullptr;
    if (__builtin_expect(fast_frame(pa, len), 1))
      f = index_[pfn];
    else
      check(pa, len);
    if (f == nullptr && (f = frame_for_nonzero_write(pfn, src, len)) == nullptr) return;
    std::uint8_t* at = f->data() + (pa & (kPageSize - 1));
    if (len == 8)
      std::memcpy(at, src, 8);
    else
      std::memcpy(at, src, len);
  }

  MemoryParams params_;
  // Owns every frame's storage. Frames live on the heap: a rehash does not move them.
  std::unordered_map<Pfn, std::unique_ptr<Frame>> frames_;
  // Index of the storage of frames [0, indexed_): null = none. indexed_ = min(frames(),
  // kIndexedFrames); calloc'ed, so the OS maps its pages only as frames get storage.
  static constexpr std::uint64_t kIndexedFrames = 1ull << 22;  // 16 GiB of simulated memory
  struct FreeDeleter {
    void operator()(Frame** p) const { std::free(p); }
  };
  std::unique_ptr<Frame*[], FreeDeleter> index_;
  std::uint64_t indexed_ = 0;
  // Frames above the index: the last one looked up (null: absent), so that a run of accesses to
  // one frame skips the hash lookup; erasing a frame resets it.
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
