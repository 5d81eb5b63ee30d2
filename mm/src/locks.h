// mmap_lock and page-table locks (mm-semantics.md §1.5, §0.4 PTL), for operations that
// interleave: an operation waiting in a shootdown to other CPUs lets those CPUs run OS operations
// (ArchPort::flush_tlb). Waiting for a lock is ArchPort::cpu_relax; a port that cannot let time
// pass makes the waiter back off (see each user).
#pragma once

#include <stdexcept>

#include "mm_env.h"
#include "mm_struct.h"

namespace mmusim::mm {

// Waits until `is_free()`; false when the port cannot let the holder run.
template <class Pred>
bool wait_until(MmEnv& env, Pred is_free) {
  while (!is_free())
    if (!env.port.cpu_relax(env.cpu)) return false;
  return true;
}

// mmap_read_lock / mmap_write_lock for the guard's lifetime. ok() is false when the lock is held
// by a suspended operation and the port cannot wait: the caller backs off.
class MmapLock {
 public:
  enum Mode { kRead, kWrite };
  MmapLock(MmEnv& env, MmStruct& mm, Mode mode) : mm_(mm), mode_(mode) {
    held_ = mode == kRead ? wait_until(env, [&] { return !mm.mmap_writer; })
                          : wait_until(env, [&] { return !mm.mmap_writer && mm.mmap_readers == 0; });
    if (!held_) return;
    if (mode == kRead) ++mm.mmap_readers;
    else mm.mmap_writer = true;
  }
  ~MmapLock() {
    if (!held_) return;
    if (mode_ == kRead) --mm_.mmap_readers;
    else mm_.mmap_writer = false;
  }
  MmapLock(const MmapLock&) = delete;
  MmapLock& operator=(const MmapLock&) = delete;
  bool ok() const { return held_; }

 private:
  MmStruct& mm_;
  Mode mode_;
  bool held_ = false;
};

// The page-table lock, per entry in this model: Linux's split PTL covers a whole PTE table, so
// where Linux makes an operation on another entry of a locked table spin, the model lets it run
// on; it only changes timing, never the resulting state, since the holder touches its own entry.

// spin_lock(pte_lockptr): waits until no other CPU holds the PTL of the entry `ptep`. Nothing but
// a shootdown lets another CPU run, so critical sections without one need not mark the lock.
inline bool ptl_wait(MmEnv& env, PhysAddr ptep) {
  return wait_until(env, [&] {
    auto it = env.g.ptl_held.find(ptep);
    return it == env.g.ptl_held.end() || it->second == env.cpu;
  });
}

// ptl_wait deep inside an operation that cannot back off any more.
inline void ptl_wait_or_throw(MmEnv& env, PhysAddr ptep) {
  if (!ptl_wait(env, ptep))
    throw std::logic_error("a page-table lock is held by an operation suspended in a shootdown "
                           "and the port cannot wait (ArchPort::cpu_relax)");
}

// Marks the PTL of the entry `ptep` held by this CPU across a step that may let other CPUs run
// (a shootdown). The caller waited for it first (ptl_wait).
class PtlHold {
 public:
  PtlHold(MmEnv& env, PhysAddr ptep) : env_(env), ptep_(ptep) {
    owner_ = env.g.ptl_held.emplace(ptep, env.cpu).second;
  }
  ~PtlHold() {
    if (owner_) env_.g.ptl_held.erase(ptep_);
  }
  PtlHold(const PtlHold&) = delete;
  PtlHold& operator=(const PtlHold&) = delete;

 private:
  MmEnv& env_;
  PhysAddr ptep_;
  bool owner_ = false;  // false when this CPU already held it (nested)
};

}  // namespace mmusim::mm
