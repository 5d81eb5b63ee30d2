// A functional stand-in for the machine behind mm's ArchPort: sparse physical memory, a per-CPU
// TLB keyed by (PCID, page), CR3 per CPU, and a log of every port call in order, so tests can
// check what the kernel did and in which order (R1, R3, R6). No timing: charge() only adds up.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "mmusim/mm/arch_port.h"

namespace mmusim::mm::testing {

class FakePort final : public ArchPort {
 public:
  enum class EventKind {
    kReadPte, kWritePte, kXchgPte, kZeroFrame, kCopyFrame, kFlush, kCr3,
    kStorePte, kIrqDisable, kIrqEnable, kFence,
  };
  struct Event {
    explicit Event(EventKind k, PhysAddr p = 0, x86::PteVal v = 0) : kind(k), pa(p), value(v) {}
    EventKind kind;
    PhysAddr pa = 0;          // PTE events
    x86::PteVal value = 0;    // PTE events: the value written (xchg: the new value)
    x86::PteVal old = 0;      // xchg: the value returned
    Pfn pfn = 0;              // frame events: the destination
    CpuId cpu = 0;            // flush: initiator; cr3, irq: the CPU
    CpuMask targets;          // flush
    TlbFlush flush;           // flush
    Pcid pcid = 0;            // cr3
    bool noflush = false;     // cr3
  };
  struct TlbEntry {
    Pfn pfn = 0;
    bool writable = false;
    bool dirty = false;
  };

  explicit FakePort(std::uint64_t nr_frames) : nr_frames_(nr_frames) {}

  // ---- ArchPort ----
  std::uint64_t nr_frames() const override { return nr_frames_; }
  x86::PteVal read_pte(PhysAddr pa) override;
  void write_pte(PhysAddr pa, x86::PteVal value) override;
  x86::PteVal xchg_pte(PhysAddr pa, x86::PteVal value) override;
  void store_pte(PhysAddr pa, x86::PteVal value) override;  // logged as kStorePte
  void local_irq_disable(CpuId cpu) override;
  void local_irq_enable(CpuId cpu) override;
  void full_fence() override { events_.emplace_back(EventKind::kFence); }
  x86::PteVal peek_pte(PhysAddr pa) const override { return load64(pa); }
  void zero_frame(Pfn pfn) override;
  void copy_frame(Pfn dst, Pfn src) override;
  void read_phys(PhysAddr pa, void* dst, std::size_t len) override;
  void write_phys(PhysAddr pa, const void* src, std::size_t len) override;
  void flush_tlb(CpuId initiator, CpuMask targets, const TlbFlush& flush) override;
  void write_cr3(CpuId cpu, PhysAddr pgd, Pcid pcid, bool noflush) override;
  void charge(Cycles cycles) override { charged_[static_cast<std::size_t>(phase_)] += cycles; }
  void set_phase(CostPhase phase) override { phase_ = phase; }
  CostPhase phase() const override { return phase_; }

  // ---- test backdoors: never logged, never charged ----
  std::uint64_t load64(PhysAddr pa) const;
  void store64(PhysAddr pa, std::uint64_t value);
  std::optional<TlbEntry> tlb_lookup(CpuId cpu, VirtAddr va) const;
  void tlb_fill(CpuId cpu, VirtAddr va, TlbEntry entry);
  void tlb_invalidate_local(CpuId cpu, VirtAddr va);  // what #PF delivery does on x86
  PhysAddr cr3_pgd(CpuId cpu) const { return cr3_.at(cpu).first; }
  bool irqs_disabled(CpuId cpu) const { return irqs_off_.count(cpu) != 0; }
  Pcid cr3_pcid(CpuId cpu) const { return cr3_.at(cpu).second; }

  const std::vector<Event>& events() const { return events_; }
  std::vector<Event> events_of(EventKind kind) const;
  void clear_events() { events_.clear(); }
  Cycles charged(CostPhase phase) const { return charged_[static_cast<std::size_t>(phase)]; }
  Cycles charged_total() const;

  // Fault injection for tests that show an oracle catching a missing flush: flush_tlb is logged
  // but invalidates nothing.
  bool test_ignore_flushes = false;
  // Called on every flush_tlb, after it took effect: lets a test look at the kernel's state at
  // the instant of the flush (R2, R6 orderings that the port cannot see).
  std::function<void(const Event&)> on_flush;
  // Called on every xchg_pte before it takes effect (pa, new value): lets a test run another
  // CPU's step inside an operation's window (the fork race of R13).
  std::function<void(PhysAddr, x86::PteVal)> before_xchg;

 private:
  using Frame = std::array<std::uint8_t, kPageSize>;
  Frame* frame(Pfn pfn, bool create);
  const Frame* frame(Pfn pfn) const;
  void check(PhysAddr pa, std::size_t len, bool word = false) const;

  std::uint64_t nr_frames_;
  std::unordered_map<Pfn, std::unique_ptr<Frame>> memory_;
  std::map<CpuId, std::map<std::pair<Pcid, VirtAddr>, TlbEntry>> tlbs_;
  std::map<CpuId, std::pair<PhysAddr, Pcid>> cr3_;
  std::set<CpuId> irqs_off_;
  std::vector<Event> events_;
  std::array<Cycles, kCostPhaseCount> charged_{};
  CostPhase phase_ = CostPhase::kEntry;
};

}  // namespace mmusim::mm::testing
