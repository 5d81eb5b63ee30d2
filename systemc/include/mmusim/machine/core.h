// A core: a SystemC initiator thread that runs its CoreProgram's operation stream through its
// Mmu, its store buffer and physical memory, loosely timed (TLM-2.0 temporal decoupling): each
// operation advances the core's local time by its cycles, and the thread yields to the SystemC
// kernel only when its quantum is used up, when it sleeps, and at shootdowns. Page faults and
// kernel entries are handed synchronously, in this thread, to the ExceptionVector.
//
// Page walks may overlap younger operations (walker.max_walks, core.miss_window_ops): the timing
// model is MissWindow's (miss_window.h); values and faults are those of in-order execution.
//
// Interrupts (IPIs) are taken at operation boundaries, in the middle of kCompute work, while the
// core sleeps (kWait, or its program has ended) and while it waits for the acks of its own
// shootdown; never inside a handler otherwise. An interrupt posted while the core runs ahead of
// SystemC time is taken at the first such point it reaches after the post (at the earliest at
// the interrupt's arrival): the error temporal decoupling allows, bounded by the quantum.
#pragma once

#include <array>
#include <cstdint>
#include <exception>
#include <string>

#include <systemc>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "mmusim/arch/types.h"
#include "mmusim/machine/core_interfaces.h"
#include "mmusim/machine/invalidation.h"
#include "mmusim/machine/machine_config.h"
#include "mmusim/machine/miss_window.h"
#include "mmusim/machine/mmu.h"
#include "mmusim/machine/phys_mem.h"
#include "mmusim/machine/store_buffer.h"
#include "mmusim/stats/stats.h"

namespace mmusim::machine {

class Core;

// One IPI shootdown in flight: its initiator waits until every target has acked.
struct ShootdownRequest {
  Core* initiator = nullptr;
  const Invalidation* inv = nullptr;
  unsigned remaining = 0;  // targets that have not acked yet
  Cycles done_at = 0;      // latest cycle at which an ack becomes visible to the initiator
};

// Which core's thread runs now (SystemC runs one process at a time); null outside the cores'
// threads (test or setup code around Machine::run). Shared by the cores of one Machine.
struct RunningCore {
  Core* core = nullptr;
};

class Core : public sc_core::sc_module, private StoreSink {
 public:
  SC_HAS_PROCESS(Core);
  // Registers statistics in a group "cpu<id>" under `parent`, with the MMU's groups, "sb" and
  // "ipi" below it.
  Core(const sc_core::sc_module_name& name, CpuId id, const MachineConfig& config,
       PhysMem& memory, CoreProgram& program, ExceptionVector& vector, stats::Group& parent,
       RunningCore& running);

  CpuId id() const { return id_; }
  Mmu& mmu() { return mmu_; }
  const Mmu& mmu() const { return mmu_; }
  StoreBuffer& store_buffer() { return sb_; }
  const StoreBuffer& store_buffer() const { return sb_; }

  // MOV to CR3 (architectural register state only; Machine::write_cr3 does the TLB part).
  void set_cr3(PhysAddr root, Pcid pcid);
  PhysAddr cr3_root() const { return cr3_root_; }
  Pcid pcid() const { return pcid_; }

  // Local time in cycles (SystemC time plus the quantum keeper's offset). While the core sleeps
  // it stays at the last thing the core did.
  Cycles now() const { return now_; }
  // Adds `cycles` to the local time; yields to the kernel when the quantum is used up. Only from
  // this core's thread.
  void advance(Cycles cycles) {
    now_ += cycles;
    if (now_ >= quantum_end_) sync();
  }
  // Waits until SystemC time reaches the local time (tlm_quantumkeeper::sync). Leaves the local
  // time unchanged.
  void sync();
  // A forced drain of the store buffer for `cause`: the core waits until the last buffered
  // store has left. Only from this core's thread.
  void drain_store_buffer(DrainCause cause) { now_ = sb_.drain_all(cause, now_); }
  // The OS's plain (non-locked) stores and its loads, through this core's store buffer as x86-TSO
  // has them (HW6): a plain store is visible to other cores only when it drains; the core's own
  // loads see it at once. Only from this core's thread.
  void kernel_store(PhysAddr pa, std::uint64_t value) {
    CoreOp op;
    op.kind = CoreOp::Kind::kKernel;  // not a program store: the program ignores its visibility
    op.token = ~std::uint64_t{0};
    op.value = value;
    now_ += sb_.retire(pa, 8, value, op, now_);
  }
  std::uint64_t kernel_load(PhysAddr pa) {
    const StoreBuffer::LoadResult r = sb_.load(pa, 8, now_);
    now_ += r.cycles;
    return r.value;
  }
  bool store_buffer_empty() const { return sb_.empty(); }

  // Interrupt flag (RFLAGS.IF). While clear, IPIs stay pending (HW5).
  bool irqs_enabled() const { return irqs_enabled_; }
  void set_irqs_enabled(bool enabled);
  // The program ended, or the core sleeps in a kWait: it runs nothing but interrupts.
  bool idle() const { return ended_ || sleeping_; }
  bool program_ended() const { return ended_; }
  bool sleeping() const { return sleeping_; }
  // A shootdown this core initiated still waits for acks (for deadlock reports).
  const ShootdownRequest* shootdown_in_flight() const { return in_flight_; }

  // Interconnect side. post_ipi: an IPI of `request` reaches this core at `arrival` (from the
  // initiator's thread, arrival >= SystemC time). wait_for_acks: the initiator sleeps, taking
  // interrupts, until every target of `request` has acked and the last ack is visible.
  // acked: a target's ack of `request` becomes visible at `visible`.
  void post_ipi(Cycles arrival, ShootdownRequest& request);
  void wait_for_acks(ShootdownRequest& request);
  // Spins for `cycles` as a CPU waiting for a lock does: interrupts (if enabled) are taken
  // meanwhile, so a lock holder waiting for this CPU's ack makes progress.
  void relax(Cycles cycles);
  void acked(ShootdownRequest& request, Cycles visible);
  // Machine::wake: ends the current (or the next) kWait at cycle `at` at the earliest.
  void wake(Cycles at);

  // An exception that escaped the program, the vector or the model during run(); rethrown by
  // Machine::run() after the simulation stops.
  std::exception_ptr error() const { return error_; }

 private:
  // tlm_quantumkeeper with its next sync point readable, so that the per-operation check is a
  // comparison of cycle counts.
  struct QuantumKeeper : tlm_utils::tlm_quantumkeeper {
    sc_core::sc_time next_sync_point() const { return m_next_sync_point; }
  };
  struct PendingIpi {
    Cycles arrival = 0;
    ShootdownRequest* request = nullptr;
  };
  static constexpr Cycles kNever = ~Cycles{0};

  // advance() for a caller that holds the local time in a register (`now` == now_): returns the
  // new local time. On the per-access path every store to memory the compiler cannot tell apart
  // from now_ (a statistic, simulated memory's bytes) would otherwise make it load now_ again,
  // one store-to-load forwarding on the path per use.
  Cycles advance_from(Cycles now, Cycles cycles) {
    now += cycles;
    now_ = now;
    if (now >= quantum_end_) sync();  // leaves now_ as it is
    return now;
  }
  // Time, sleeping and interrupts (core_irq.cpp).
  sc_core::sc_time to_time(Cycles c) const;
  Cycles sc_now_cycles() const;
  void restart_quantum();
  void suspend() { running_.core = nullptr; }
  void resume() { running_.core = this; }
  Cycles sync_interruptible();
  void sleep(bool until_wake);
  // Interrupts.
  bool interrupt_due() const { return now_ >= irq_due_at_; }
  void update_irq_due();
  void rearm_irq_event();
  void take_interrupts();
  void handle_ipi(const PendingIpi& ipi);
  // Operations (core.cpp; compute() is in core_irq.cpp).
  void thread();
  void run_program();
  void at_boundary() {
    if (now_ >= irq_due_at_) take_interrupts();  // interrupt_due()
  }
  // Drains the store buffer until the operation's start (the core's time then), wherever memory
  // may be read, stores watched or the core may yield before the operation's own drain: a batch
  // refill, the miss window, a walk, any operation but a load or store. An L1-hit load or store
  // needs none: it drains at its data access and cannot yield before it.
  void drain_to_op_start() { sb_.drain_until(now_); }
  void compute(Cycles cycles);
  // One test on the per-access path: done_limit_ is done_'s start when the program watches store
  // visibility (every completion then goes to it at once, in completed_now), else done_'s end (a
  // guard: a batch completes at most kBatchOps operations before it is reported).
  void completed(const CoreOp& op, std::uint64_t value, Cycles at) {
    if (__builtin_expect(done_next_ == done_limit_, 0)) {
      completed_now(op, value, at);
      return;
    }
    *done_next_++ = Completion{&op, value, at};
  }
  void completed_now(const CoreOp& op, std::uint64_t value, Cycles at);
  void report_completions() {
    if (done_next_ != done_.data()) report_completions_now();
  }
  void report_completions_now();
  // A kLoad, kStore, kFetch or kLocked op of kind K (one instance per kind, so that the per-access
  // path has no test of the kind left); complete_any dispatches on op.kind at run time.
  template <CoreOp::Kind K>
  void execute_access(const CoreOp& op);
  // `now` is the local time (now_).
  template <CoreOp::Kind K>
  void complete_access(const CoreOp& op, PhysAddr pa, Cycles now);
  // An access the L1's hit cache did not translate (out of line: the per-access path stays
  // small); one whose translation walked: overlapped (a load) or blocking (miss_window.h).
  template <CoreOp::Kind K>
  void execute_uncached(const CoreOp& op);
  template <CoreOp::Kind K>
  void execute_walked(const CoreOp& op, const Translation& t);
  // The miss window: before an operation of `kind` while overlapped loads are outstanding;
  // waiting for all of them (an ordering point); a walk the core waits for.
  void before_issue(CoreOp::Kind kind);
  void settle_walks() {
    if (walks_.pending()) advance(walks_.settle(now_) - now_);
  }
  void walk_blocking(Cycles walk_cycles);
  void complete_any(const CoreOp& op, PhysAddr pa);
  void fault_and_retry(const CoreOp& op, Translation t);
  void prefetch(const CoreOp& op);
  std::uint64_t fetch_or_locked(const CoreOp& op, PhysAddr pa);
  // Sizes 1, 2, 4 or 8, not crossing a page; else bad_access throws std::invalid_argument.
  // One table lookup: the last page offset an access of each size may start at (-1: no such
  // size).
  void check_access(const CoreOp& op) const {
    static constexpr std::int16_t kLastOffset[9] = {-1, 4095, 4094, -1, 4092, -1, -1, -1, 4088};
    if (op.size > 8 || static_cast<int>(op.va & (kPageSize - 1)) > kLastOffset[op.size])
      bad_access(op);
  }
  [[noreturn]] void bad_access(const CoreOp& op) const;
  void store_drained(const BufferedStore& store) override;

  CpuId id_;
  sc_core::sc_time clock_;
  const MachineConfig& config_;
  PhysMem& mem_;
  CoreProgram& program_;
  ExceptionVector& vector_;
  RunningCore& running_;
  QuantumKeeper qk_;
  Cycles now_ = 0;
  Cycles quantum_end_ = 0;
  PhysAddr cr3_root_ = 0;
  Pcid pcid_ = 0;
  std::exception_ptr error_;
  bool ended_ = false;     // the program has ended (or the run failed)
  bool sleeping_ = false;  // in a kWait

  bool irqs_enabled_ = true;
  std::uint64_t pending_mask_ = 0;  // bit i: an IPI from cpu i is pending
  std::array<PendingIpi, kMaxCores> pending_{};
  Cycles irq_due_at_ = kNever;  // earliest pending arrival while IF is set, else kNever
  sc_core::sc_event irq_event_;
  bool wake_pending_ = false;
  Cycles wake_at_ = 0;
  sc_core::sc_event wake_event_;
  sc_core::sc_event ack_event_;
  ShootdownRequest* in_flight_ = nullptr;
  // Operations fetched from the program (CoreProgram::next_batch); run_program's locals say
  // which are not run yet (only it reads them: locals stay in registers).
  static constexpr unsigned kBatchOps = 32;
  std::array<CoreOp, kBatchOps> batch_{};
  // CoreProgram::watches_store_visibility(). When false, completions wait in done_ (at most one
  // per operation of the batch) until report_completions(): before the batch is refilled,
  // before any other callback and before the core yields to SystemC.
  bool watches_stores_;
  std::array<Completion, kBatchOps> done_{};
  Completion* done_next_ = done_.data();   // done_[0, done_next_) wait to be reported
  Completion* done_limit_ = done_.data();  // see completed(); set by the constructor

  // The group first: the Mmu, the store buffer and the miss window register their groups
  // under it.
  stats::Group group_;
  Mmu mmu_;
  StoreBuffer sb_;
  MissWindow walks_;
  struct CoreStats {
    CoreStats(stats::Group& g, const Mmu& mmu);
    stats::Scalar loads;
    stats::Scalar stores;
    stats::Scalar fetches;
    stats::Scalar prefetches;
    stats::Scalar prefetches_dropped;
    stats::Scalar locked;
    stats::Scalar fences;
    stats::Scalar computes;
    stats::Scalar kernel_entries;
    stats::Scalar waits;
    stats::Scalar wait_cycles;
    stats::Formula page_faults;
    stats::Scalar aborted;
    stats::Scalar cycles;
    stats::Group ipi_group;
    stats::Scalar ipis_received;
    stats::Scalar stolen_cycles;
    stats::Distribution stolen_per_ipi;
  } stats_;
};

}  // namespace mmusim::machine
