#include "pcid.h"

namespace mmusim::mm {

std::optional<Pcid> PcidAllocator::alloc(CpuMask& stale) {
  for (unsigned n = 0; n < kLast; ++n) {
    cursor_ = cursor_ == kLast ? kFirst : static_cast<Pcid>(cursor_ + 1);
    if (in_use_[cursor_]) continue;
    in_use_[cursor_] = true;
    stale = stale_[cursor_];
    stale_[cursor_] = CpuMask{};
    return cursor_;
  }
  return std::nullopt;
}

void PcidAllocator::release(Pcid pcid, CpuMask ran_on) {
  in_use_[pcid] = false;
  stale_[pcid].bits |= ran_on.bits;
}

}  // namespace mmusim::mm
