// The shadow-memory oracle: what every process must read at every address.
//
// Each process has its own view, built only from its own stores (and, at fork, a snapshot of its
// parent's view), so any value a process reads that it did not store itself is caught. A wrong
// value is classified: a "missed COW" when it is what another process stored there after their
// address spaces were separated (I5); a "wrong COW" when the value the process must see was
// written by a device through a pin that no longer reaches the mapped page (I4, HW8); a "lost
// store" otherwise.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "mmusim/arch/types.h"

namespace mmusim::testbench {

struct OracleVerdict {
  enum class Kind { kOk, kMissedCow, kWrongCow, kLostStore };
  Kind kind = Kind::kOk;
  std::uint64_t expected = 0;
  std::string culprit;  // kMissedCow: the process whose store was observed; kWrongCow: the pin
};
const char* verdict_name(OracleVerdict::Kind kind);

class ShadowMemory {
 public:
  void create(const std::string& proc);
  // A new private anonymous mapping: the range reads as zero for `proc`.
  void map_zero(const std::string& proc, VirtAddr start, std::uint64_t len);
  // A store by the process, or (with `device_pin`) a device write through that pin or reference
  // landing in the process's view at the pinned address.
  void store(const std::string& proc, VirtAddr va, std::uint64_t value, unsigned size,
             const std::string& device_pin = {});
  // MADV_DONTNEED, MADV_WIPEONFORK in a child, munmap: the range reads as zero again (or is gone,
  // which the signal checks handle).
  void zero_range(const std::string& proc, VirtAddr start, std::uint64_t len) { map_zero(proc, start, len); }
  std::uint64_t expected(const std::string& proc, VirtAddr va, unsigned size) const;
  // The child starts with a copy of the parent's view (private mappings are copied at fork).
  void fork(const std::string& parent, const std::string& child);
  // The process's view is kept (marked dead) so that later reads can still be attributed to it.
  void exit(const std::string& proc);
  // Compares a completed load with what `proc` must see.
  OracleVerdict check_load(const std::string& proc, VirtAddr va, unsigned size, std::uint64_t got) const;
  // Pages `proc`'s view holds (a page only ever stored zeros holds none: it reads as zero anyway).
  std::size_t pages_held(const std::string& proc) const { return view(proc).pages.size(); }

 private:
  // One version of a page's content, shared by views until one of them writes; `writer` is the
  // process whose store made this version (a missed COW is blamed only on a real writer).
  struct Page {
    std::array<std::uint8_t, kPageSize> bytes{};
    std::string writer;
  };
  struct View {
    std::map<VirtAddr, std::shared_ptr<Page>> pages;  // shared between views until written
    std::map<VirtAddr, std::string> device_bytes;     // bytes last written by a device: the pin
    bool alive = true;
  };
  const View& view(const std::string& proc) const;
  View& view(const std::string& proc);
  static std::uint64_t read(const View& v, VirtAddr va, unsigned size);
  std::map<std::string, View> views_;  // ordered: attribution is deterministic
};

}  // namespace mmusim::testbench
