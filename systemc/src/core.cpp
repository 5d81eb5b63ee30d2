#include "mmusim/machine/core.h"

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

}  // namespace

Core::CoreStats::CoreStats(stats::Group& g, const Mmu& mmu)
    : loads(g, "loads", Unit::kCount, "loads completed"),
      stores(g, "stores", Unit::kCount, "stores completed"),
      computes(g, "computes", Unit::kCount, "compute operations executed"),
      kernel_entries(g, "kernel_entries", Unit::kCount, "kernel entries (kKernel operations)"),
      page_faults(g, "page_faults", Unit::kCount, "#PF exceptions delivered (= mmu.faults)",
                  [&mmu] { return static_cast<double>(mmu.faults()); }),
      aborted(g, "aborted", Unit::kCount, "loads and stores aborted by the exception vector"),
      cycles(g, "cycles", Unit::kCycles, "the core's local time when its program ended") {}

Core::Core(const sc_core::sc_module_name& name, CpuId id, const MachineConfig& config,
           PhysMem& memory, CoreProgram& program, ExceptionVector& vector, stats::Group& parent)
    : sc_core::sc_module(name),
      id_(id),
      clock_(static_cast<double>(config.core.clock_ps), sc_core::SC_PS),
      max_fault_retries_(config.core.max_fault_retries),
      mem_(memory),
      program_(program),
      vector_(vector),
      group_("cpu" + std::to_string(id), &parent),
      mmu_(config, memory, group_),
      stats_(group_, mmu_) {
  SC_THREAD(thread);
}

void Core::set_cr3(PhysAddr root, Pcid pcid) {
  cr3_root_ = root & kPageMask;
  pcid_ = pcid & kPcidMask;
}

Cycles Core::now() const {
  if (finished_) return finish_cycles_;
  return qk_.get_current_time().value() / clock_.value();
}

void Core::advance(Cycles cycles) {
  qk_.inc(sc_core::sc_time::from_value(clock_.value() * cycles));
  if (qk_.need_sync()) qk_.sync();
}

void Core::thread() {
  qk_.reset();
  try {
    run_program();
  } catch (...) {
    // An exception escaping an SC_THREAD would become an sc_report; keep the original for
    // Machine::run() and stop the simulation.
    error_ = std::current_exception();
    finish_cycles_ = now();
    finished_ = true;
    sc_core::sc_stop();
    return;
  }
  finish_cycles_ = now();
  finished_ = true;
  stats_.cycles.inc(finish_cycles_);
  qk_.sync();  // so that the simulation's end time covers this core's work
}

void Core::run_program() {
  for (;;) {
    CoreOp op;
    if (!program_.next(id_, op)) return;
    switch (op.kind) {
      case CoreOp::Kind::kLoad:
      case CoreOp::Kind::kStore:
        execute_access(op);
        break;
      case CoreOp::Kind::kCompute:
        stats_.computes.inc();
        advance(op.cycles);
        break;
      case CoreOp::Kind::kKernel:
        stats_.kernel_entries.inc();
        advance(vector_.kernel_entry(id_, op, now()));
        break;
    }
  }
}

// One load or store: translate, and on #PF drop the VA's TLB entry (x86 fault delivery, HW7),
// run the handler and retry or abort as it says.
void Core::execute_access(const CoreOp& op) {
  const bool is_load = op.kind == CoreOp::Kind::kLoad;
  const char* what = is_load ? "load" : "store";
  if (op.size != 1 && op.size != 2 && op.size != 4 && op.size != 8)
    throw std::invalid_argument("cpu" + std::to_string(id_) + ": " + what + " at " + hex(op.va) +
                                " has size " + std::to_string(op.size) + " (1, 2, 4 or 8)");
  if ((op.va & (kPageSize - 1)) + op.size > kPageSize)
    throw std::invalid_argument("cpu" + std::to_string(id_) + ": " + what + " of " +
                                std::to_string(op.size) + " bytes at " + hex(op.va) +
                                " crosses a page boundary");
  const AccessType type = is_load ? AccessType::kLoad : AccessType::kStore;
  for (unsigned faults = 0;; ++faults) {
    const Translation t = mmu_.translate(cr3_root_, pcid_, op.va, type);
    advance(t.cycles);
    if (t.ok()) {
      const std::uint64_t value = data_access(op, t.pa);
      (is_load ? stats_.loads : stats_.stores).inc();
      program_.completed(id_, op, value, now());
      return;
    }
    if (faults >= max_fault_retries_)
      throw std::runtime_error("cpu" + std::to_string(id_) + ": " + what + " at " + hex(op.va) +
                               " faulted " + std::to_string(faults + 1) +
                               " times in a row (error code " + hex(t.error_code) +
                               "); the exception vector keeps answering kRetry without a fix");
    mmu_.dtlb().invalidate_for_fault(pcid_, op.va);
    const FaultReply reply = vector_.page_fault(id_, op.va, t.error_code, now());
    advance(reply.handler_cycles);
    if (reply.outcome == FaultOutcome::kAbort) {
      stats_.aborted.inc();
      program_.aborted(id_, op, now());
      return;
    }
  }
}

// The data access itself, little-endian like x86. Returns the loaded value (zero-extended), or
// for a store the bytes stored.
std::uint64_t Core::data_access(const CoreOp& op, PhysAddr pa) {
  std::uint8_t bytes[8] = {};
  std::uint64_t value = 0;
  if (op.kind == CoreOp::Kind::kLoad) {
    mem_.read(pa, bytes, op.size);
    advance(mem_.read_cost());
    for (unsigned i = op.size; i-- > 0;) value = (value << 8) | bytes[i];
    return value;
  }
  for (unsigned i = 0; i < op.size; ++i) bytes[i] = static_cast<std::uint8_t>(op.value >> (8 * i));
  mem_.write(pa, bytes, op.size);
  advance(mem_.write_cost());
  value = op.size == 8 ? op.value : op.value & ((1ull << (8 * op.size)) - 1);
  return value;
}

}  // namespace mmusim::machine
