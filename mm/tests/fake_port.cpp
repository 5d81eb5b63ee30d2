#include "fake_port.h"

#include <cstring>
#include <numeric>
#include <stdexcept>

namespace mmusim::mm::testing {

// Frame 0 is never a page or a table; only its aligned words, the mm_structs'
// write_protect_seq (wp_seq_slot), may be loaded and stored (`word`).
void FakePort::check(PhysAddr pa, std::size_t len, bool word) const {
  const bool frame0 = phys_to_pfn(pa) == 0 && !(word && len == 8 && (pa & 7) == 0);
  if (len == 0 || frame0 || phys_to_pfn(pa) >= nr_frames_ ||
      phys_to_pfn(pa) != phys_to_pfn(pa + len - 1))
    throw std::out_of_range("FakePort: access outside one existing frame (or frame 0)");
}

FakePort::Frame* FakePort::frame(Pfn pfn, bool create) {
  auto it = memory_.find(pfn);
  if (it != memory_.end()) return it->second.get();
  if (!create) return nullptr;
  auto& slot = memory_[pfn];
  slot = std::make_unique<Frame>();
  slot->fill(0);
  return slot.get();
}

const FakePort::Frame* FakePort::frame(Pfn pfn) const {
  auto it = memory_.find(pfn);
  return it == memory_.end() ? nullptr : it->second.get();
}

std::uint64_t FakePort::load64(PhysAddr pa) const {
  check(pa, 8, /*word=*/true);
  const Frame* f = frame(phys_to_pfn(pa));
  std::uint64_t value = 0;
  if (f) std::memcpy(&value, f->data() + (pa & ~kPageMask), 8);
  return value;
}

void FakePort::store64(PhysAddr pa, std::uint64_t value) {
  check(pa, 8, /*word=*/true);
  std::memcpy(frame(phys_to_pfn(pa), true)->data() + (pa & ~kPageMask), &value, 8);
}

x86::PteVal FakePort::read_pte(PhysAddr pa) {
  const x86::PteVal value = load64(pa);
  events_.emplace_back(EventKind::kReadPte, pa, value);
  return value;
}

void FakePort::write_pte(PhysAddr pa, x86::PteVal value) {
  store64(pa, value);
  events_.emplace_back(EventKind::kWritePte, pa, value);
}

x86::PteVal FakePort::xchg_pte(PhysAddr pa, x86::PteVal value) {
  if (before_xchg) before_xchg(pa, value);
  const x86::PteVal old = load64(pa);
  store64(pa, value);
  Event e{EventKind::kXchgPte, pa, value};
  e.old = old;
  events_.push_back(e);
  return old;
}

void FakePort::store_pte(PhysAddr pa, x86::PteVal value) {
  store64(pa, value);
  events_.emplace_back(EventKind::kStorePte, pa, value);
}

void FakePort::local_irq_disable(CpuId cpu) {
  if (!irqs_off_.insert(cpu).second) throw std::logic_error("FakePort: interrupts already off");
  Event e{EventKind::kIrqDisable};
  e.cpu = cpu;
  events_.push_back(e);
}

void FakePort::local_irq_enable(CpuId cpu) {
  if (irqs_off_.erase(cpu) == 0) throw std::logic_error("FakePort: interrupts already on");
  Event e{EventKind::kIrqEnable};
  e.cpu = cpu;
  events_.push_back(e);
}

void FakePort::zero_frame(Pfn pfn) {
  check(pfn_to_phys(pfn), kPageSize);
  frame(pfn, true)->fill(0);
  Event e{EventKind::kZeroFrame};
  e.pfn = pfn;
  events_.push_back(e);
}

void FakePort::copy_frame(Pfn dst, Pfn src) {
  check(pfn_to_phys(dst), kPageSize);
  check(pfn_to_phys(src), kPageSize);
  const Frame* from = frame(src);
  Frame* to = frame(dst, true);
  if (from) *to = *from;
  else to->fill(0);
  Event e{EventKind::kCopyFrame};
  e.pfn = dst;
  events_.push_back(e);
}

void FakePort::read_phys(PhysAddr pa, void* dst, std::size_t len) {
  check(pa, len);
  const Frame* f = frame(phys_to_pfn(pa));
  if (f) std::memcpy(dst, f->data() + (pa & ~kPageMask), len);
  else std::memset(dst, 0, len);
}

void FakePort::write_phys(PhysAddr pa, const void* src, std::size_t len) {
  check(pa, len);
  std::memcpy(frame(phys_to_pfn(pa), true)->data() + (pa & ~kPageMask), src, len);
}

void FakePort::flush_tlb(CpuId initiator, CpuMask targets, const TlbFlush& flush) {
  Event e{EventKind::kFlush};
  e.cpu = initiator;
  e.targets = targets;
  e.flush = flush;
  events_.push_back(e);
  if (on_flush) on_flush(e);
  if (test_ignore_flushes) return;
  for (auto& [cpu, tlb] : tlbs_) {
    if (!targets.test(cpu)) continue;
    for (auto it = tlb.begin(); it != tlb.end();) {
      const bool hit = it->first.first == flush.pcid &&
                       (flush.full || (it->first.second >= flush.start && it->first.second < flush.end));
      it = hit ? tlb.erase(it) : std::next(it);
    }
  }
}

void FakePort::write_cr3(CpuId cpu, PhysAddr pgd, Pcid pcid, bool noflush) {
  Event e{EventKind::kCr3};
  e.cpu = cpu;
  e.pa = pgd;
  e.pcid = pcid;
  e.noflush = noflush;
  events_.push_back(e);
  cr3_[cpu] = {pgd, pcid};
  if (noflush) return;
  auto& tlb = tlbs_[cpu];
  for (auto it = tlb.begin(); it != tlb.end();) it = it->first.first == pcid ? tlb.erase(it) : std::next(it);
}

std::optional<FakePort::TlbEntry> FakePort::tlb_lookup(CpuId cpu, VirtAddr va) const {
  auto t = tlbs_.find(cpu);
  if (t == tlbs_.end()) return std::nullopt;
  auto it = t->second.find({cr3_pcid(cpu), page_align_down(va)});
  if (it == t->second.end()) return std::nullopt;
  return it->second;
}

void FakePort::tlb_fill(CpuId cpu, VirtAddr va, TlbEntry entry) {
  tlbs_[cpu][{cr3_pcid(cpu), page_align_down(va)}] = entry;
}

void FakePort::tlb_invalidate_local(CpuId cpu, VirtAddr va) {
  auto t = tlbs_.find(cpu);
  if (t != tlbs_.end()) t->second.erase({cr3_pcid(cpu), page_align_down(va)});
}

std::vector<FakePort::Event> FakePort::events_of(EventKind kind) const {
  std::vector<Event> out;
  for (const Event& e : events_)
    if (e.kind == kind) out.push_back(e);
  return out;
}

Cycles FakePort::charged_total() const {
  return std::accumulate(charged_.begin(), charged_.end(), Cycles{0});
}

}  // namespace mmusim::mm::testing
