// How a core meets the world outside the machine (architecture.md §1): a CoreProgram supplies
// its operation stream, and an ExceptionVector handles what the core raises. systemc/ knows
// nothing of processes or VMAs; testbench/ implements both interfaces.
#pragma once

#include <cstdint>

#include "mmusim/arch/types.h"

namespace mmusim::machine {

enum class AccessType : std::uint8_t { kLoad, kStore, kFetch };

// One operation of a core's stream.
struct CoreOp {
  enum class Kind : std::uint8_t {
    kLoad,     // load `size` bytes at `va` (little-endian, zero-extended into the result);
               // forwarded from the core's store buffer where it holds the bytes
    kStore,    // store the low `size` bytes of `value` at `va`: translated, then retired into
               // the store buffer; it reaches memory later (CoreProgram::store_visible)
    kFetch,    // instruction fetch of `size` bytes at `va` through the iTLB (#PF with I/D set);
               // reads memory, not the store buffer
    kFence,    // MFENCE: drains the store buffer, then core.fence_cycles
    kLocked,   // locked exchange (XCHG with memory): drains the store buffer, then atomically
               // swaps the low `size` bytes at `va` with `value`; the result is the old value.
               // Needs write permission like a store
    kCompute,  // `cycles` of non-memory work (interrupts are taken in the middle of it)
    kKernel,   // enter the kernel for service `token` (syscall, scheduler); see ExceptionVector
    kPrefetch, // PREFETCHT0 of `va`: translated like a load (a walk fills the TLB and the
               // paging-structure caches) but never faults: a prefetch that would fault is
               // dropped (SDM vol. 2, PREFETCHh). Completes with value 0
    kWait,     // nothing to run: sleep until Machine::wake(cpu) or an interrupt, then call
               // CoreProgram::next again
  };
  Kind kind = Kind::kCompute;
  VirtAddr va = 0;
  std::uint64_t value = 0;
  unsigned size = 8;  // 1, 2, 4 or 8; the access must not cross a page boundary
  Cycles cycles = 0;
  std::uint64_t token = 0;  // opaque to the machine; identifies the op to its program
};

// What the exception vector decided for a faulting access.
enum class FaultOutcome : std::uint8_t {
  kRetry,  // the handler fixed the cause: retry the access
  kAbort,  // the access must not complete (the thread was killed): drop it
};

struct FaultReply {
  FaultOutcome outcome = FaultOutcome::kRetry;
  // Time spent in the handler that it did not already charge with Machine::advance; added to
  // the core's time when the handler returns.
  Cycles handler_cycles = 0;
};

// One completed operation, as CoreProgram::completed reports it.
struct Completion {
  const CoreOp* op;
  std::uint64_t value;
  Cycles now;
};

// Supplied by the testbench; called from the core's thread (store_visible also from the thread
// of a core whose INVLPGB shootdown waits for this core's stores to drain).
class CoreProgram {
 public:
  virtual ~CoreProgram() = default;
  // Next operation for `cpu`; false when the stream has ended (the core then only takes
  // interrupts and drains its store buffer).
  virtual bool next(CpuId cpu, CoreOp& op) = 0;
  // Up to `max` (>= 1) next operations for `cpu` in ops[0..n); returns n, 0 when the stream has
  // ended. The core runs them in order, as if each came from next(), before it asks again: a
  // program whose operations depend on what completed, on time or on the machine keeps this
  // default (one operation per call). A fixed stream may return many and save a call per
  // operation (bench/).
  virtual unsigned next_batch(CpuId cpu, CoreOp* ops, unsigned max) {
    (void)max;
    ops[0] = CoreOp{};  // as a fresh operation for next() to fill
    return next(cpu, ops[0]) ? 1 : 0;
  }
  // A kLoad, kStore, kFetch or kLocked completed (after any faults and retries) at core cycle
  // `now`. `value` is the loaded value (kLoad, kFetch), the old memory value (kLocked), or the
  // stored bytes (kStore, which has only retired into the store buffer at `now`). Calls come in
  // program order; a load whose walk overlaps younger operations (miss_window.h) reports its
  // completion cycle, which may be later than the core's time at the call and than the `now` of
  // the next operations.
  virtual void completed(CpuId cpu, const CoreOp& op, std::uint64_t value, Cycles now) = 0;
  // completed() for c[0..n) in order (n >= 1; `op` valid during the call). The core reports
  // completions as they happen, unless the program watches no store visibility
  // (watches_store_visibility() false): then it may hold up to one batch of them back, and
  // reports them before it asks for more operations, before any other callback of the program
  // or the exception vector, and before other cores run. A program that only counts may
  // override this (bench/).
  virtual void completed_batch(CpuId cpu, const Completion* c, unsigned n) {
    for (unsigned i = 0; i < n; ++i) completed(cpu, *c[i].op, c[i].value, c[i].now);
  }
  // False: store_visible() is never needed, so the core does not call it (and may batch
  // completions, which otherwise must precede every store_visible() call). Asked once, when the
  // machine is built.
  virtual bool watches_store_visibility() const { return true; }
  // A kLoad, kStore, kFetch or kLocked was aborted by the exception vector.
  virtual void aborted(CpuId cpu, const CoreOp& op, Cycles now) = 0;
  // A store of `op` became globally visible at `pa` at core cycle `now`: a kStore leaving the
  // store buffer for memory (at the address translated at retire time, HW4), or a kLocked op.
  virtual void store_visible(CpuId /*cpu*/, const CoreOp& /*op*/, PhysAddr /*pa*/,
                             Cycles /*now*/) {}
};

// The core's exception and kernel-entry interface; called from the core's thread, after the
// entry has drained the store buffer. The handler may use the machine synchronously (memory, TLB
// maintenance, CR3, shootdowns, Machine::advance to charge its time as it goes); the returned
// cycles are added to the core's time on return.
class ExceptionVector {
 public:
  virtual ~ExceptionVector() = default;
  // #PF: the core has already dropped its cached translation of `va` (x86 fault delivery, HW7).
  virtual FaultReply page_fault(CpuId cpu, VirtAddr va, std::uint32_t error_code, Cycles now) = 0;
  // A kKernel op: returns the cycles the service took beyond what it charged with advance().
  virtual Cycles kernel_entry(CpuId cpu, const CoreOp& op, Cycles now) = 0;
};

}  // namespace mmusim::machine
