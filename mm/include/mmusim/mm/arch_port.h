// mm's "arch" port: everything the OS memory manager needs from a machine (architecture.md §1).
//
// mm/ declares this interface and never includes SystemC; testbench/ implements it on top of the
// SystemC machine, and mm's unit tests use a functional stand-in. All calls are synchronous: when
// a call returns, its effect is architecturally visible (a flush has completed on every target,
// a write is in memory). A flush to other CPUs (and cpu_relax) may let other CPUs run OS
// operations before it returns; the Kernel keeps its state consistent for them at those points. The implementation charges the machine cost of each call (memory
// latency, copy bandwidth, invalidation cost) to the phase last set with set_phase().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mmusim/arch/types.h"
#include "mmusim/arch/x86_paging.h"

namespace mmusim::mm {

// Phases of an OS operation, used to break down fault and syscall latency.
enum class CostPhase : std::uint8_t {
  kEntry,      // exception/syscall entry
  kVmaLookup,  // find_vma and permission checks
  kAlloc,      // page / page-table allocation
  kZeroCopy,   // zeroing or copying page contents
  kPteUpdate,  // page-table reads and writes, rmap and counters
  kFlush,      // TLB invalidation and shootdowns
  kExit,       // exception/syscall exit
};
inline constexpr std::size_t kCostPhaseCount = 7;
std::string_view cost_phase_name(CostPhase phase);

// A set of CPUs (mm_cpumask); up to 64 CPUs.
struct CpuMask {
  std::uint64_t bits = 0;
  void set(CpuId cpu) { bits |= 1ull << cpu; }
  bool test(CpuId cpu) const { return (bits >> cpu) & 1u; }
  bool empty() const { return bits == 0; }
};

// One TLB invalidation request: either every non-global translation of a PCID, or the base
// pages [start, end) of that PCID (one INVLPG-equivalent each, paging-structure caches included).
struct TlbFlush {
  Pcid pcid = 0;
  bool full = false;
  VirtAddr start = 0;
  VirtAddr end = 0;
};

class ArchPort {
 public:
  virtual ~ArchPort() = default;

  // Size of simulated physical memory in 4 KiB frames. Frames [0, nr_frames()) exist.
  virtual std::uint64_t nr_frames() const = 0;

  // Page-table entries: aligned 8-byte words in physical memory (read_pte also reads fork's
  // write_protect_seq word for GUP-fast, §4.4 (b)).
  virtual x86::PteVal read_pte(PhysAddr pa) = 0;
  virtual void write_pte(PhysAddr pa, x86::PteVal value) = 0;
  // Atomic exchange (a locked RMW, a full fence on x86): ptep_get_and_clear and friends use it
  // so that A/D bits set concurrently by a walker are returned, never lost (HW3).
  virtual x86::PteVal xchg_pte(PhysAddr pa, x86::PteVal value) = 0;
  // A plain (non-locked) store of an 8-byte word. mm uses it for fork's write_protect_seq
  // stores (raw_write_seqcount, §4.4 (b)) and, under the plain_pte_clear fault injection (HW3
  // broken), for entry clears: a machine with store buffers buffers it in the initiating CPU's
  // store buffer, so it may become visible after later loads (races T4, R06). Default: write_pte.
  virtual void store_pte(PhysAddr pa, x86::PteVal value) { write_pte(pa, value); }
  // Backdoor read for invariant checks and introspection: no cost, no statistics.
  virtual x86::PteVal peek_pte(PhysAddr pa) const = 0;

  // Frame contents.
  virtual void zero_frame(Pfn pfn) = 0;
  virtual void copy_frame(Pfn dst, Pfn src) = 0;
  virtual void read_phys(PhysAddr pa, void* dst, std::size_t len) = 0;
  virtual void write_phys(PhysAddr pa, const void* src, std::size_t len) = 0;

  // Invalidate translations on every CPU of `targets` (which may include `initiator`, the CPU
  // running the OS operation). Returns when every target has dropped them (HW4).
  virtual void flush_tlb(CpuId initiator, CpuMask targets, const TlbFlush& flush) = 0;

  // GUP-fast's local_irq_save / local_irq_restore on `cpu` (§3.9 steps 2 and 4). While a CPU has
  // interrupts disabled it acknowledges shootdown IPIs only after enabling them again (HW5); a
  // machine without IPI modelling may ignore both.
  virtual void local_irq_disable(CpuId /*cpu*/) {}
  virtual void local_irq_enable(CpuId /*cpu*/) {}

  // smp_mb() on the CPU running the OS operation: drains its store buffer before any later load
  // (HW6). fork issues it right after the first write_protect_seq increment, where x86 gets it
  // from the locked RMW of the page-table-lock acquisition (§4.4 (b), R13).
  virtual void full_fence() {}

  // One spin or sleep step of `cpu` waiting for a lock (mmap_lock, a page-table lock) that an
  // operation suspended in a shootdown on another CPU holds. A machine that runs other CPUs
  // meanwhile lets time pass and returns true; the default returns false (nothing else can run),
  // and the operation backs off instead: a fault retries the access, a call returns -EAGAIN.
  virtual bool cpu_relax(CpuId /*cpu*/) { return false; }

  // A point inside an OS operation where the port may hold the operation while other CPUs run,
  // to open one of §4.5's race windows on purpose (a scenario's `fork ... pause`). The operation
  // goes on when the call returns; the default returns at once.
  enum class PreemptPoint : std::uint8_t {
    kForkBeforeWrprotect,  // copy_present_pte: the page is shared (pin check done), the
                           // parent's entry is still writable (the T6 window, R13)
    kSwapOutAfterPinCheck, // try_to_unmap_one: the entry is cleared and the pin check passed,
                           // the swap entry not yet installed (the T4 window, R4/HW3)
  };
  virtual void preempt_point(CpuId /*cpu*/, PreemptPoint /*point*/) {}

  // CR3 write on `cpu`: root table `pgd`, PCID `pcid`; `noflush` is CR3 bit 63 (keep the
  // PCID's cached translations).
  virtual void write_cr3(CpuId cpu, PhysAddr pgd, Pcid pcid, bool noflush) = 0;

  // Software cost of an OS step, in cycles, charged to the current phase.
  virtual void charge(Cycles cycles) = 0;
  virtual void set_phase(CostPhase phase) = 0;
  virtual CostPhase phase() const = 0;
};

// Sets a phase for the lifetime of a scope and restores the previous one on exit.
class PhaseScope {
 public:
  PhaseScope(ArchPort& port, CostPhase phase) : port_(port), restore_(port.phase()) {
    port_.set_phase(phase);
  }
  ~PhaseScope() { port_.set_phase(restore_); }
  PhaseScope(const PhaseScope&) = delete;
  PhaseScope& operator=(const PhaseScope&) = delete;

 private:
  ArchPort& port_;
  CostPhase restore_;
};

}  // namespace mmusim::mm
