// The shadow-memory oracle: what every process must read at every address.
//
// Each process has its own view, built only from its own stores (and, at fork, a snapshot of its
// parent's view), so any value a process reads that it did not store itself is caught. A wrong
// value is classified: a "missed COW" when it is what another process stored there after their
// address spaces were separated (I5), a "lost store" otherwise.
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
  enum class Kind { kOk, kMissedCow, kLostStore };
  Kind kind = Kind::kOk;
  std::uint64_t expected = 0;
  std::string culprit;  // for kMissedCow: the process whose store was observed
};
const char* verdict_name(OracleVerdict::Kind kind);

class ShadowMemory {
 public:
  void create(const std::string& proc);
  // A new private anonymous mapping: the range reads as zero for `proc`.
  void map_zero(const std::string& proc, VirtAddr start, std::uint64_t len);
  void store(const std::string& proc, VirtAddr va, std::uint64_t value, unsigned size);
  std::uint64_t expected(const std::string& proc, VirtAddr va, unsigned size) const;
  // The child starts with a copy of the parent's view (private mappings are copied at fork).
  void fork(const std::string& parent, const std::string& child);
  // The process's view is kept (marked dead) so that later reads can still be attributed to it.
  void exit(const std::string& proc);
  // Compares a completed load with what `proc` must see.
  OracleVerdict check_load(const std::string& proc, VirtAddr va, unsigned size, std::uint64_t got) const;

 private:
  using Page = std::array<std::uint8_t, kPageSize>;
  struct View {
    std::map<VirtAddr, std::shared_ptr<Page>> pages;  // shared between views until written
    bool alive = true;
  };
  const View& view(const std::string& proc) const;
  View& view(const std::string& proc);
  static std::uint64_t read(const View& v, VirtAddr va, unsigned size);
  std::map<std::string, View> views_;  // ordered: attribution is deterministic
};

}  // namespace mmusim::testbench
