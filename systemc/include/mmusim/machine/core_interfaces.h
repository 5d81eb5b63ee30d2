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
    kLoad,     // load `size` bytes at `va` (little-endian, zero-extended into the result)
    kStore,    // store the low `size` bytes of `value` at `va`
    kCompute,  // `cycles` of non-memory work
    kKernel,   // enter the kernel for service `token` (syscall, scheduler); see ExceptionVector
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
  Cycles handler_cycles = 0;  // time spent in the handler, from exception entry to return
};

// Supplied by the testbench; called from the core's thread.
class CoreProgram {
 public:
  virtual ~CoreProgram() = default;
  // Next operation for `cpu`; false when the stream has ended.
  virtual bool next(CpuId cpu, CoreOp& op) = 0;
  // A load or store completed (after any faults and retries) at core cycle `now`; `value` is the
  // loaded value for loads.
  virtual void completed(CpuId cpu, const CoreOp& op, std::uint64_t value, Cycles now) = 0;
  // A load or store was aborted by the exception vector.
  virtual void aborted(CpuId cpu, const CoreOp& op, Cycles now) = 0;
};

// The core's exception and kernel-entry interface; called from the core's thread. The handler
// may use the machine (memory, TLB maintenance, CR3) synchronously; the returned cycles are
// added to the core's time.
class ExceptionVector {
 public:
  virtual ~ExceptionVector() = default;
  // #PF: the core has already dropped its cached translation of `va` (x86 fault delivery, HW7).
  virtual FaultReply page_fault(CpuId cpu, VirtAddr va, std::uint32_t error_code, Cycles now) = 0;
  // A kKernel op: returns the cycles the service took.
  virtual Cycles kernel_entry(CpuId cpu, const CoreOp& op, Cycles now) = 0;
};

}  // namespace mmusim::machine
