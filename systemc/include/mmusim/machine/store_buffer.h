// A core's store buffer (architecture.md §2, mm-semantics HW4 and HW6): a FIFO of retired stores,
// each holding the physical address it was translated to at retire time, written to memory in
// program order at the drain rate. A store buffered before a PTE changed therefore lands where
// the old translation pointed; only a drain (fence, locked operation, serializing event,
// interrupt or exception entry) bounds how long that can happen.
//
// Time is the owning core's local clock. Each entry records the cycle at which it leaves:
//   leaves[i] = max(retired[i], leaves[i-1]) + drain_cycles
// (one store leaves every drain_cycles, the first drain_cycles after it entered an idle buffer).
// drain_until(t) lands every entry whose time has come; a forced drain lands everything and
// tells the core when the last one left.
//
// Loads are forwarded byte-accurately (the youngest buffered store wins per byte); a load only
// partly covered waits until the overlapping stores have drained, then reads memory (real x86
// cores block such a load the same way).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "mmusim/arch/types.h"
#include "mmusim/machine/core_interfaces.h"
#include "mmusim/machine/machine_config.h"
#include "mmusim/machine/phys_mem.h"
#include "mmusim/stats/stats.h"

namespace mmusim::machine {

struct BufferedStore {
  PhysAddr pa = 0;
  std::uint64_t value = 0;  // the low `size` bytes are stored, little-endian
  unsigned size = 8;
  Cycles retired = 0;  // core cycle at which the store entered the buffer
  Cycles leaves = 0;   // core cycle at which it is written to memory
  CoreOp op;           // the store as the program issued it; kept only for a sink (the one
                       // reader), so a buffer without one does not copy it
};

// Told of every store as it leaves the buffer and becomes globally visible.
class StoreSink {
 public:
  virtual ~StoreSink() = default;
  virtual void store_drained(const BufferedStore& store) = 0;
};

// Why the whole buffer was drained (HW6 and architecture.md §2).
enum class DrainCause : std::uint8_t {
  kFence,        // MFENCE (CoreOp::Kind::kFence)
  kLocked,       // a locked read-modify-write (CoreOp::Kind::kLocked)
  kException,    // #PF delivery
  kInterrupt,    // IPI handler entry (HW4(b))
  kKernelEntry,  // a kKernel operation entering the OS
  kSerializing,  // MOV to CR3, INVLPG, INVPCID (SDM vol. 3A §9.3 "serializing instructions")
};
inline constexpr unsigned kDrainCauses = 6;
const char* drain_cause_name(DrainCause cause);  // "fence", "locked", ...

class StoreBuffer {
 public:
  // Registers its statistics in a child group "sb" of `parent` (the core's group). `sink` may be
  // null (then drained stores are only written to memory).
  StoreBuffer(const StoreBufferParams& params, PhysMem& memory, StoreSink* sink,
              stats::Group& parent);
  StoreBuffer(const StoreBuffer&) = delete;
  StoreBuffer& operator=(const StoreBuffer&) = delete;

  unsigned capacity() const { return params_.entries; }
  unsigned size() const { return count_; }
  bool empty() const { return count_ == 0; }
  bool full() const { return count_ == params_.entries; }
  // Leave time of the oldest / youngest entry; only when !empty().
  Cycles oldest_leaves() const { return entries_[head_].leaves; }
  Cycles youngest_leaves() const { return entries_[index(count_ - 1)].leaves; }
  // The i-th oldest entry (0 = next to leave); i < size().
  const BufferedStore& entry(unsigned i) const { return entries_[index(i)]; }

  // Writes to memory every store whose leave time is <= t.
  // Inline: on the per-access path, and usually one store leaves at a time.
  void drain_until(Cycles t) {
    while (head_leaves_ <= t) drain_oldest();
  }

  // Retires a store at core cycle `now` (after its translation). If the buffer is full the core
  // stalls until the oldest store leaves; returns the stall in cycles (0 if none). The store
  // enters at now + stall.
  Cycles retire(PhysAddr pa, unsigned size, std::uint64_t value, const CoreOp& op, Cycles now) {
    drain_until(now);
    Cycles stall = 0;
    if (full()) {
      stall = wait_for_room(now);
      now += stall;
    }
    BufferedStore& s = entries_[index(count_)];
    s.pa = pa;
    s.value = size == 8 ? value : value & ((1ull << (8 * size)) - 1);
    s.size = size;
    s.retired = now;
    s.leaves = (now > last_leaves_ ? now : last_leaves_) + params_.drain_cycles;
    if (sink_ != nullptr) s.op = op;
    last_leaves_ = s.leaves;
    // Leave times never decrease and an empty buffer has kEmpty: the minimum is the oldest's
    // leave time, without a branch that the buffer's filling and emptying would mispredict.
    head_leaves_ = s.leaves < head_leaves_ ? s.leaves : head_leaves_;
    ++count_;
    filter_update(pa, size, +1);
    // One increment: occupancy is in [1, capacity()], counted per value and folded into the
    // distribution when it is read (stats::Distribution::sample_small).
    stats_.occupancy.sample_small(count_);
    return stall;
  }

  struct LoadResult {
    std::uint64_t value = 0;  // zero-extended, little-endian
    Cycles cycles = 0;        // from `now` until the value is available
  };
  // A load of `size` bytes at `pa` issued at `now` (1, 2, 4 or 8 bytes, not crossing a frame):
  // forwarded when every byte is buffered (forward_cycles); a partly covered load waits for the
  // overlapping stores to drain, then reads memory; no overlap reads memory (read_cycles).
  LoadResult load(PhysAddr pa, unsigned size, Cycles now) {
    drain_until(now);
    if (count_ == 0 || !filter_may_overlap(pa, size)) return load_memory(pa, size, 0);
    return load_overlapping(pa, size, now);
  }

  // Lands every buffered store for `cause`; returns the cycle at which the last one left (>= now;
  // `now` if the buffer was empty). The caller advances the core to that cycle.
  Cycles drain_all(DrainCause cause, Cycles now);

 private:
  unsigned index(unsigned i) const { return (head_ + i) & ring_mask_; }
  // The oldest store leaves: it is written where it was translated at retire time, whatever the
  // page tables say now (the hazard HW4 makes the OS handle).
  void drain_oldest() {
    BufferedStore& s = entries_[head_];
    mem_.write(s.pa, &s.value, s.size);  // little-endian host and target (phys_mem.cpp)
    filter_update(s.pa, s.size, -1);
    head_ = index(1);
    --count_;
    // entries_[head_] always exists (stale when the buffer is empty): loaded unconditionally
    // and masked to kEmpty (all ones) when empty, without a branch (see retire()).
    head_leaves_ = entries_[head_].leaves | (Cycles{0} - Cycles{count_ == 0});
    stats_.stores_drained.inc();
    if (sink_ != nullptr) sink_->store_drained(s);
  }
  Cycles wait_for_room(Cycles now);
  LoadResult load_memory(PhysAddr pa, unsigned size, Cycles waited) {
    // Little-endian host and target (phys_mem.cpp).
    return LoadResult{mem_.read_value_in_frame(pa, size), waited + mem_.read_cost()};
  }
  LoadResult load_overlapping(PhysAddr pa, unsigned size, Cycles now);
  // An access of at most 8 bytes touches one or two 8-byte granules.
  static unsigned first_slot(PhysAddr pa) { return (pa >> 3) % kFilterSlots; }
  static unsigned last_slot(PhysAddr pa, unsigned size) {
    return ((pa + size - 1) >> 3) % kFilterSlots;
  }
  void filter_update(PhysAddr pa, unsigned size, int delta) {
    const unsigned first = first_slot(pa), last = last_slot(pa, size);
    filter_[first] = static_cast<std::uint16_t>(filter_[first] + delta);
    if (last != first) filter_[last] = static_cast<std::uint16_t>(filter_[last] + delta);
  }
  bool filter_may_overlap(PhysAddr pa, unsigned size) const {
    return (filter_[first_slot(pa)] | filter_[last_slot(pa, size)]) != 0;
  }

  StoreBufferParams params_;
  PhysMem& mem_;
  StoreSink* sink_;
  // A ring of the power of two at least capacity() (at most capacity() used), so that a position
  // wraps with a mask rather than a compare and a subtract on every store.
  std::vector<BufferedStore> entries_;
  unsigned ring_mask_;  // entries_.size() - 1
  unsigned head_ = 0;
  unsigned count_ = 0;
  Cycles last_leaves_ = 0;  // leave time of the youngest store ever retired
  // Leave time of the oldest buffered store; kEmpty when the buffer is empty, so that
  // drain_until's test is one comparison.
  static constexpr Cycles kEmpty = ~Cycles{0};
  Cycles head_leaves_ = kEmpty;
  // Buffered stores per 8-byte granule (hashed): a load whose granules all count zero overlaps
  // no buffered store and skips the byte-accurate scan.
  static constexpr unsigned kFilterSlots = 256;
  std::array<std::uint16_t, kFilterSlots> filter_{};

  struct Stats {
    Stats(stats::Group& parent);
    stats::Group group;
    stats::Distribution occupancy;
    stats::Scalar forwards;
    stats::Scalar partial_waits;
    stats::Scalar partial_wait_cycles;
    stats::Scalar full_stalls;
    stats::Scalar full_stall_cycles;
    stats::Group drains_group;
    std::array<stats::Scalar, kDrainCauses> drains;
    stats::Scalar drain_wait_cycles;
    stats::Scalar stores_drained;
  } stats_;
};

}  // namespace mmusim::machine
