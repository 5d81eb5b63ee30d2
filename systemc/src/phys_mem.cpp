#include "mmusim/machine/phys_mem.h"

#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace mmusim::machine {
namespace {

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%#llx", static_cast<unsigned long long>(v));
  return buf;
}

Cycles frame_cost(std::uint64_t bytes_per_cycle) {
  return (kPageSize + bytes_per_cycle - 1) / bytes_per_cycle;
}

}  // namespace

PhysMem::Stats::Stats(stats::Group& parent, const std::string& name, const PhysMem& mem)
    : group(name, &parent),
      reads(group, "reads", stats::Unit::kCount,
            "timed reads (read, read64, and the read half of xchg64/cmpxchg64)"),
      writes(group, "writes", stats::Unit::kCount,
             "timed writes (write, write64, and the write half of xchg64/cmpxchg64)"),
      frames_zeroed(group, "frames_zeroed", stats::Unit::kPages, "frames cleared by zero_frame"),
      frames_copied(group, "frames_copied", stats::Unit::kPages, "frames copied by copy_frame"),
      frames_resident(group, "frames_resident", stats::Unit::kPages,
                      "frames holding storage (written since their last zeroing)",
                      [&mem] { return static_cast<double>(mem.frames_resident()); }) {}

PhysMem::PhysMem(const MemoryParams& params, stats::Group& parent, const std::string& name)
    : params_(params), stats_(parent, name, *this) {
  if (params_.size_bytes == 0 || params_.size_bytes % kPageSize != 0)
    throw std::invalid_argument("memory.size_bytes=" + std::to_string(params_.size_bytes) +
                                " is not a nonzero multiple of 4096");
  if (params_.copy_bytes_per_cycle == 0 || params_.zero_bytes_per_cycle == 0)
    throw std::invalid_argument("memory copy/zero bandwidth must be nonzero");
  const std::uint64_t indexed = frames() < kIndexedFrames ? frames() : kIndexedFrames;
  index_.reset(static_cast<Frame**>(std::calloc(indexed, sizeof(Frame*))));
  if (!index_) throw std::bad_alloc();
  indexed_ = indexed;
}

void PhysMem::check(PhysAddr pa, std::size_t len) const {
  if (len == 0 || len > kPageSize)
    throw std::invalid_argument("physical access of " + std::to_string(len) + " bytes at " +
                                hex(pa) + ": length must be 1..4096");
  if (pa >= params_.size_bytes || len > params_.size_bytes - pa)
    throw std::out_of_range("physical address " + hex(pa) + " (+" + std::to_string(len) +
                            " bytes) is beyond memory size " + hex(params_.size_bytes));
  if ((pa & (kPageSize - 1)) + len > kPageSize)
    throw std::invalid_argument("physical access of " + std::to_string(len) + " bytes at " +
                                hex(pa) + " crosses a 4 KiB frame");
}

void PhysMem::check_pfn(Pfn pfn) const {
  if (pfn >= frames())
    throw std::out_of_range("frame " + hex(pfn) + " (physical address " + hex(pfn_to_phys(pfn)) +
                            ") is beyond memory size " + hex(params_.size_bytes));
}

const PhysMem::Frame* PhysMem::find_unindexed(Pfn pfn) const {
  if (pfn == last_pfn_) return last_frame_;
  auto it = frames_.find(pfn);
  last_pfn_ = pfn;
  last_frame_ = it == frames_.end() ? nullptr : it->second.get();
  return last_frame_;
}

// The frame's storage, created (zeroed) if it has none.
PhysMem::Frame& PhysMem::create_frame(Pfn pfn) {
  if (pfn >= indexed_ && pfn == last_pfn_ && last_frame_ != nullptr) return *last_frame_;
  auto& slot = frames_[pfn];
  if (!slot) slot = std::make_unique<Frame>(Frame{});
  if (pfn < indexed_) {
    index_[pfn] = slot.get();
  } else {
    last_pfn_ = pfn;
    last_frame_ = slot.get();
  }
  return *slot;
}

PhysMem::Frame* PhysMem::frame_for_nonzero_write(Pfn pfn, const void* src, std::size_t len) {
  if (find(pfn) == nullptr) {
    const auto* bytes = static_cast<const std::uint8_t*>(src);
    bool zero = true;
    for (std::size_t i = 0; i < len && zero; ++i) zero = bytes[i] == 0;
    if (zero) return nullptr;
  }
  return &create_frame(pfn);
}

// Drops the frame's storage (it reads as zero again).
void PhysMem::drop_frame(Pfn pfn) {
  frames_.erase(pfn);
  if (pfn < indexed_) index_[pfn] = nullptr;
  if (pfn == last_pfn_) last_pfn_ = ~Pfn{0};
}

// 64-bit values are stored little-endian, as on x86; the host is assumed little-endian too.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "PhysMem assumes a little-endian host");

std::uint64_t PhysMem::xchg64(PhysAddr pa, std::uint64_t value) {
  std::uint64_t old = read64(pa);
  write64(pa, value);
  return old;
}

std::uint64_t PhysMem::cmpxchg64(PhysAddr pa, std::uint64_t expected, std::uint64_t desired) {
  std::uint64_t old = read64(pa);
  if (old == expected) write64(pa, desired);
  return old;
}

void PhysMem::zero_frame(Pfn pfn) {
  check_pfn(pfn);
  drop_frame(pfn);  // an absent frame reads as zero
  stats_.frames_zeroed.inc();
}

void PhysMem::copy_frame(Pfn dst, Pfn src) {
  check_pfn(dst);
  check_pfn(src);
  stats_.frames_copied.inc();
  if (dst == src) return;
  const Frame* s = find(src);
  if (s == nullptr) {
    drop_frame(dst);
    return;
  }
  frame_for_write(dst) = *s;  // frames live on the heap: a rehash does not move *s
}

Cycles PhysMem::copy_frame_cost() const { return frame_cost(params_.copy_bytes_per_cycle); }
Cycles PhysMem::zero_frame_cost() const { return frame_cost(params_.zero_bytes_per_cycle); }

std::uint64_t PhysMem::peek64(PhysAddr pa) const {
  std::uint64_t v;
  raw_read(pa, &v, sizeof v);
  return v;
}

void PhysMem::peek(PhysAddr pa, void* dst, std::size_t len) const { raw_read(pa, dst, len); }
void PhysMem::poke64(PhysAddr pa, std::uint64_t value) { raw_write(pa, &value, sizeof value); }
void PhysMem::poke(PhysAddr pa, const void* src, std::size_t len) { raw_write(pa, src, len); }

}  // namespace mmusim::machine
