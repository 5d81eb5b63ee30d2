// mm's ArchPort implemented on the SystemC machine: the place where the OS and the hardware meet.
// Every call does the architectural work on the machine and charges its machine cost to the
// current phase; the runner reads the per-phase account to time each fault and syscall.
#pragma once

#include <array>

#include "mmusim/machine/machine.h"
#include "mmusim/mm/arch_port.h"

namespace mmusim::testbench {

// Cycles spent by one OS operation, per phase.
struct CostAccount {
  std::array<Cycles, mm::kCostPhaseCount> by_phase{};
  Cycles total() const;
};

class MachinePort final : public mm::ArchPort {
 public:
  explicit MachinePort(machine::Machine& machine) : machine_(machine) {}

  // Starts a new account (at kernel entry) and returns the finished one.
  void begin_account() { account_ = {}; phase_ = mm::CostPhase::kEntry; }
  const CostAccount& account() const { return account_; }

  std::uint64_t nr_frames() const override;
  x86::PteVal read_pte(PhysAddr pa) override;
  void write_pte(PhysAddr pa, x86::PteVal value) override;
  x86::PteVal xchg_pte(PhysAddr pa, x86::PteVal value) override;
  x86::PteVal peek_pte(PhysAddr pa) const override;
  void zero_frame(Pfn pfn) override;
  void copy_frame(Pfn dst, Pfn src) override;
  void read_phys(PhysAddr pa, void* dst, std::size_t len) override;
  void write_phys(PhysAddr pa, const void* src, std::size_t len) override;
  void flush_tlb(CpuId initiator, mm::CpuMask targets, const mm::TlbFlush& flush) override;
  void write_cr3(CpuId cpu, PhysAddr pgd, Pcid pcid, bool noflush) override;
  void charge(Cycles cycles) override { account_.by_phase[static_cast<std::size_t>(phase_)] += cycles; }
  void set_phase(mm::CostPhase phase) override { phase_ = phase; }
  mm::CostPhase phase() const override { return phase_; }

 private:
  machine::Machine& machine_;
  CostAccount account_;
  mm::CostPhase phase_ = mm::CostPhase::kEntry;
};

}  // namespace mmusim::testbench
