// Core: the operation stream (loads, stores, fetches, fences, locked operations, computes,
// kernel entries, waits). Time, sleeping and interrupts are in core_irq.cpp.
#include "mmusim/machine/core.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace mmusim::machine {
namespace {

using stats::Unit;

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%#llx", static_cast<unsigned long long>(v));
  return buf;
}

const char* op_name(CoreOp::Kind kind) {
  switch (kind) {
    case CoreOp::Kind::kLoad: return "load";
    case CoreOp::Kind::kStore: return "store";
    case CoreOp::Kind::kFetch: return "fetch";
    case CoreOp::Kind::kLocked: return "locked operation";
    default: return "operation";
  }
}

constexpr AccessType access_type(CoreOp::Kind kind) {
  switch (kind) {
    case CoreOp::Kind::kLoad: return AccessType::kLoad;
    case CoreOp::Kind::kFetch: return AccessType::kFetch;
    default: return AccessType::kStore;  // kStore, and kLocked which writes
  }
}

std::uint64_t low_bytes(std::uint64_t value, unsigned size) {
  return size == 8 ? value : value & ((1ull << (8 * size)) - 1);
}

}  // namespace

Core::CoreStats::CoreStats(stats::Group& g, const Mmu& mmu)
    : loads(g, "loads", Unit::kCount, "loads completed"),
      stores(g, "stores", Unit::kCount, "stores retired into the store buffer"),
      fetches(g, "fetches", Unit::kCount, "instruction fetches completed"),
      prefetches(g, "prefetches", Unit::kCount, "prefetch operations (kPrefetch) executed, dropped ones included"),
      prefetches_dropped(g, "prefetches_dropped", Unit::kCount,
                         "prefetches whose translation would have faulted: dropped without a #PF"),
      locked(g, "locked", Unit::kCount, "locked read-modify-write operations completed"),
      fences(g, "fences", Unit::kCount, "MFENCE operations executed"),
      computes(g, "computes", Unit::kCount, "compute operations executed"),
      kernel_entries(g, "kernel_entries", Unit::kCount, "kernel entries (kKernel operations)"),
      waits(g, "waits", Unit::kCount, "kWait operations (sleeps until a wake or an interrupt)"),
      wait_cycles(g, "wait_cycles", Unit::kCycles, "cycles spent asleep in kWait operations"),
      page_faults(g, "page_faults", Unit::kCount, "#PF exceptions delivered (= mmu.faults - prefetches_dropped)",
                  [&mmu, this] { return static_cast<double>(mmu.faults() - prefetches_dropped.value()); }),
      aborted(g, "aborted", Unit::kCount,
              "loads, stores, fetches and locked operations aborted by the exception vector"),
      cycles(g, "cycles", Unit::kCycles, "the core's local time when its program ended"),
      ipi_group("ipi", &g),
      ipis_received(ipi_group, "ipis_received", Unit::kCount,
                    "shootdown IPIs this core took (handler entered)"),
      stolen_cycles(ipi_group, "stolen_cycles", Unit::kCycles,
                    "cycles spent in IPI handlers: store-buffer drain, entry, invalidation, exit"),
      stolen_per_ipi(ipi_group, "stolen_cycles_per_ipi", Unit::kCycles,
                     "cycles each IPI handler took (one sample per IPI taken)") {}

Core::Core(const sc_core::sc_module_name& name, CpuId id, const MachineConfig& config,
           PhysMem& memory, CoreProgram& program, ExceptionVector& vector, stats::Group& parent,
           RunningCore& running)
    : sc_core::sc_module(name),
      id_(id),
      clock_(static_cast<double>(config.core.clock_ps), sc_core::SC_PS),
      config_(config),
      mem_(memory),
      program_(program),
      vector_(vector),
      running_(running),
      watches_stores_(program.watches_store_visibility()),
      group_("cpu" + std::to_string(id), &parent),
      mmu_(config, memory, group_, id),
      sb_(config.store_buffer, memory, watches_stores_ ? this : nullptr, group_),
      walks_(config.walker.max_walks, config.core.miss_window_ops, group_),
      stats_(group_, mmu_) {
  if (!watches_stores_) done_limit_ = done_.data() + kBatchOps;
  SC_THREAD(thread);
}

void Core::set_cr3(PhysAddr root, Pcid pcid) {
  cr3_root_ = root & kPageMask;
  pcid_ = pcid & kPcidMask;
}

void Core::thread() {
  resume();
  restart_quantum();
  try {
    run_program();
  } catch (...) {
    // An exception escaping an SC_THREAD would become an sc_report; keep the original for
    // Machine::run() and stop the simulation.
    error_ = std::current_exception();
    try {
      report_completions();  // what completed before the error, in order
    } catch (...) {
      // The first error is the one Machine::run() reports.
    }
    ended_ = true;
    suspend();
    sc_core::sc_stop();
  }
}

void Core::bad_access(const CoreOp& op) const {
  const char* what = op_name(op.kind);
  if (op.size != 1 && op.size != 2 && op.size != 4 && op.size != 8)
    throw std::invalid_argument("cpu" + std::to_string(id_) + ": " + what + " at " + hex(op.va) +
                                " has size " + std::to_string(op.size) + " (1, 2, 4 or 8)");
  throw std::invalid_argument("cpu" + std::to_string(id_) + ": " + what + " of " +
                              std::to_string(op.size) + " bytes at " + hex(op.va) +
                              " crosses a page boundary");
}

// The data side of a translated access of kind K (inlined into the per-access path).
template <CoreOp::Kind K>
inline __attribute__((always_inline)) void Core::complete_access(const CoreOp& op, PhysAddr pa,
                                                                  Cycles now) {
  std::uint64_t value;
  if constexpr (K == CoreOp::Kind::kLoad) {
    const StoreBuffer::LoadResult r = sb_.load(pa, op.size, now);
    now = advance_from(now, r.cycles);
    stats_.loads.inc();
    value = r.value;
  } else if constexpr (K == CoreOp::Kind::kStore) {
    // Retires into the store buffer with the PA translated now; memory sees it later.
    now = advance_from(now, sb_.retire(pa, op.size, op.value, op, now));
    stats_.stores.inc();
    value = low_bytes(op.value, op.size);
  } else {
    value = fetch_or_locked(op, pa);
    now = now_;
  }
  completed(op, value, now);
}

void Core::complete_any(const CoreOp& op, PhysAddr pa) {
  switch (op.kind) {
    case CoreOp::Kind::kLoad: complete_access<CoreOp::Kind::kLoad>(op, pa, now_); return;
    case CoreOp::Kind::kStore: complete_access<CoreOp::Kind::kStore>(op, pa, now_); return;
    case CoreOp::Kind::kFetch: complete_access<CoreOp::Kind::kFetch>(op, pa, now_); return;
    default: complete_access<CoreOp::Kind::kLocked>(op, pa, now_); return;
  }
}

// Loads, fetches and computes may issue under overlapped loads (within the window); every other
// operation is an ordering point (miss_window.h).
void Core::before_issue(CoreOp::Kind kind) {
  switch (kind) {
    case CoreOp::Kind::kLoad:
    case CoreOp::Kind::kFetch:
    case CoreOp::Kind::kPrefetch:
    case CoreOp::Kind::kCompute:
      advance(walks_.issue(now_) - now_);
      return;
    default:
      settle_walks();
      return;
  }
}

void Core::walk_blocking(Cycles walk_cycles) {
  advance(walks_.start_walk(now_, walk_cycles) - now_);
}

// One memory access of kind K (op.kind == K): translate, then the data side. The common case (an
// L1 hit answered by the hit cache, Mmu::translate_cached) is the short path; walks go to
// execute_walked, faults to fault_and_retry.
// Inlined into run_program's loop (no call per access on the L1-hit path).
template <CoreOp::Kind K>
inline __attribute__((always_inline)) void Core::execute_access(const CoreOp& op) {
  check_access(op);
  PhysAddr pa;
  if (__builtin_expect(mmu_.translate_cached(pcid_, op.va, access_type(K), Privilege::kUser, pa),
                       1)) {
    const Cycles hit = mmu_.l1_hit_cycles(access_type(K));
    if constexpr (K == CoreOp::Kind::kLoad || K == CoreOp::Kind::kStore)
      // One quantum check per access, after its data side (complete_access), as a quantum keeper
      // is used after each transaction: a load or store does not yield between its translation
      // and its data access.
      complete_access<K>(op, pa, now_ + hit);
    else
      complete_access<K>(op, pa, advance_from(now_, hit));  // these read now_
    return;
  }
  execute_uncached<K>(op);
}

template <CoreOp::Kind K>
__attribute__((noinline)) void Core::execute_uncached(const CoreOp& op) {
  drain_to_op_start();  // the walk reads memory
  const Translation t =
      mmu_.translate_slow(cr3_root_, pcid_, op.va, access_type(K), Privilege::kUser);
  if (!t.walked()) {
    advance(t.cycles);
    if (t.ok()) {
      complete_access<K>(op, t.pa, now_);
      return;
    }
    fault_and_retry(op, t);
    return;
  }
  execute_walked<K>(op, t);
}

// The TLB lookups, then the walk: overlapped for a load whose walk succeeded without an A/D
// write-back, else blocking (an A/D write-back first waits for the overlapped loads, as a locked
// operation would).
template <CoreOp::Kind K>
void Core::execute_walked(const CoreOp& op, const Translation& t) {
  advance(t.cycles - t.walk_cycles);
  if constexpr (K == CoreOp::Kind::kLoad) {
    if (t.ok() && t.ad_writes == 0) {
      const Cycles walk_end = walks_.start_walk(now_, t.walk_cycles);
      advance(walks_.walker_free(now_) - now_);
      // The data side at issue, as for any load (values are those of in-order execution); the
      // load completes that long after its walk.
      const StoreBuffer::LoadResult r = sb_.load(t.pa, op.size, now_);
      advance(r.cycles);
      stats_.loads.inc();
      const Cycles done = walk_end + r.cycles;
      if (done > now_) walks_.overlap(done);
      completed(op, r.value, std::max(done, now_));
      return;
    }
  }
  if (t.ad_writes != 0) settle_walks();
  walk_blocking(t.walk_cycles);
  if (t.ok()) {
    complete_access<K>(op, t.pa, now_);
    return;
  }
  fault_and_retry(op, t);
}

// #PF: deliver the exception (which drains the store buffer and drops the VA's TLB entries,
// HW7), run the handler, and retry or abort as it says.
void Core::fault_and_retry(const CoreOp& op, Translation t) {
  for (unsigned faults = 0;; ++faults) {
    if (faults >= config_.core.max_fault_retries)
      throw std::runtime_error("cpu" + std::to_string(id_) + ": " + op_name(op.kind) + " at " +
                               hex(op.va) + " faulted " + std::to_string(faults + 1) +
                               " times in a row (error code " + hex(t.error_code) +
                               "); the exception vector keeps answering kRetry without a fix");
    settle_walks();  // #PF is delivered once every older access has completed
    drain_store_buffer(DrainCause::kException);
    mmu_.invalidate_for_fault(pcid_, op.va);
    report_completions();
    const FaultReply reply = vector_.page_fault(id_, op.va, t.error_code, now_);
    advance(reply.handler_cycles);
    if (reply.outcome == FaultOutcome::kAbort) {
      stats_.aborted.inc();
      report_completions();
      program_.aborted(id_, op, now_);
      return;
    }
    t = mmu_.translate(cr3_root_, pcid_, op.va, access_type(op.kind));
    advance(t.cycles - t.walk_cycles);
    if (t.walked()) walk_blocking(t.walk_cycles);  // nothing is outstanding after the #PF
    if (t.ok()) {
      complete_any(op, t.pa);
      return;
    }
  }
}

// A prefetch walks like a load and fills what a load's walk fills (TLB entry if the access is
// permitted, paging-structure caches for the upper levels it went through), but a translation
// that would fault is dropped: no #PF, no TLB entry. Its data is not the program's.
void Core::prefetch(const CoreOp& op) {
  stats_.prefetches.inc();
  const Translation t = mmu_.translate(cr3_root_, pcid_, op.va, AccessType::kLoad);
  advance(t.cycles - t.walk_cycles);
  if (t.walked()) walk_blocking(t.walk_cycles);
  if (!t.ok()) stats_.prefetches_dropped.inc();
  completed(op, 0, now_);
}

// The data side of a fetch or a locked exchange, little-endian like x86 (and the host,
// phys_mem.cpp). Returns the fetched bytes or the old value.
std::uint64_t Core::fetch_or_locked(const CoreOp& op, PhysAddr pa) {
  std::uint64_t value = 0;
  if (op.kind == CoreOp::Kind::kFetch) {
    mem_.read(pa, &value, op.size);
    advance(mem_.read_cost());
    stats_.fetches.inc();
    return value;
  }
  // kLocked (HW6): a locked RMW drains the buffer first, then reads and writes memory
  // atomically; its store is globally visible at once.
  drain_store_buffer(DrainCause::kLocked);
  advance(config_.core.fence_cycles);
  mem_.read(pa, &value, op.size);
  mem_.write(pa, &op.value, op.size);
  advance(mem_.read_cost() + mem_.write_cost());
  stats_.locked.inc();
  if (watches_stores_) program_.store_visible(id_, op, pa, now_);
  return value;
}

// The program's stream, then (once it has ended) interrupts and store-buffer drains only. The
// thread never returns: a core that has nothing left sleeps, and the simulation ends when no
// core has anything left (SystemC runs out of events).
void Core::run_program() {
  // Operations fetched from the program and not run yet: [next, end). Empty once it has ended.
  const CoreOp* next = nullptr;
  const CoreOp* end = nullptr;
  for (;;) {
    at_boundary();
    if (next == end) {
      if (ended_) {
        sleep(false);
        continue;
      }
      report_completions();  // they point into the batch
      drain_to_op_start();   // the program may watch stores or look at memory
      const unsigned n = program_.next_batch(id_, batch_.data(), kBatchOps);
      next = batch_.data();
      end = next + n;
      if (n == 0) {
        settle_walks();  // the program ends when its last load has completed
        ended_ = true;
        stats_.cycles.inc(now_);
        continue;
      }
    }
    // A reference into the batch: nothing refills it before the operation has run.
    const CoreOp& op = *next++;
    if (__builtin_expect(walks_.pending(), 0)) {
      drain_to_op_start();  // before_issue may yield
      before_issue(op.kind);
    }
    // Loads and stores first, by two tests rather than the switch's indirect jump.
    if (op.kind == CoreOp::Kind::kLoad) {
      execute_access<CoreOp::Kind::kLoad>(op);
      continue;
    }
    if (op.kind == CoreOp::Kind::kStore) {
      execute_access<CoreOp::Kind::kStore>(op);
      continue;
    }
    drain_to_op_start();
    switch (op.kind) {
      case CoreOp::Kind::kLoad:
      case CoreOp::Kind::kStore:
        break;
      case CoreOp::Kind::kFetch:
        execute_access<CoreOp::Kind::kFetch>(op);
        break;
      case CoreOp::Kind::kLocked:
        execute_access<CoreOp::Kind::kLocked>(op);
        break;
      case CoreOp::Kind::kFence:
        // MFENCE (HW6): every earlier store is globally visible before anything later runs.
        stats_.fences.inc();
        drain_store_buffer(DrainCause::kFence);
        advance(config_.core.fence_cycles);
        break;
      case CoreOp::Kind::kCompute:
        stats_.computes.inc();
        compute(op.cycles);
        break;
      case CoreOp::Kind::kKernel:
        stats_.kernel_entries.inc();
        drain_store_buffer(DrainCause::kKernelEntry);
        report_completions();
        advance(vector_.kernel_entry(id_, op, now_));
        break;
      case CoreOp::Kind::kPrefetch:
        prefetch(op);
        break;
      case CoreOp::Kind::kWait:
        stats_.waits.inc();
        sleep(true);
        break;
    }
  }
}

void Core::completed_now(const CoreOp& op, std::uint64_t value, Cycles at) {
  if (watches_stores_) {
    program_.completed(id_, op, value, at);
    return;
  }
  report_completions_now();  // done_ is full
  *done_next_++ = Completion{&op, value, at};
}

void Core::report_completions_now() {
  const auto n = static_cast<unsigned>(done_next_ - done_.data());
  done_next_ = done_.data();
  program_.completed_batch(id_, done_.data(), n);
}

// Only when the program watches store visibility (else the store buffer has no sink).
void Core::store_drained(const BufferedStore& store) {
  program_.store_visible(id_, store.op, store.pa, store.leaves);
}

}  // namespace mmusim::machine
