// Victim selection for the set-associative structures (TLB arrays, paging-structure caches):
// true LRU, tree pseudo-LRU and seeded random. The caller picks an invalid way itself when a set
// has one; the policy is asked only for a full set.
//
// One class with a switch rather than a virtual interface: touch() runs on every TLB hit, which
// must stay a plain store on the hot path.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "mmusim/arch/types.h"
#include "mmusim/machine/machine_config.h"

namespace mmusim::machine {

// splitmix64 (Steele, Lea, Flood 2014): small, fast, and every seed gives a full-period stream.
// The machine's only source of randomness, so that a run is a function of MachineConfig::seed.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed = 0) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

// The seed of one structure's random replacement: machine seed, cpu and structure name mixed,
// so that two cores (or the iTLB and dTLB of one core) draw different but reproducible streams.
std::uint64_t replacement_seed(std::uint64_t machine_seed, CpuId cpu, std::string_view structure);

class ReplacementPolicy {
 public:
  // kPlru needs `ways` to be a power of two (std::invalid_argument otherwise).
  ReplacementPolicy(Replacement kind, unsigned sets, unsigned ways, std::uint64_t seed);

  Replacement kind() const { return kind_; }

  // `way` of `set` was used by a hit or written by a fill: it becomes the most recently used.
  void touch(unsigned set, unsigned way) {
    switch (kind_) {
      case Replacement::kLru: stamps_[std::size_t{set} * ways_ + way] = ++clock_; break;
      case Replacement::kPlru: plru_touch(set, way); break;
      case Replacement::kRandom: break;
    }
  }
  // LRU only: the stamp of (set, way), which touch_lru() updates as touch(set, way) would, with
  // no dispatch (the TLB's hit cache keeps it). Null for the other policies.
  std::uint64_t* lru_stamp(unsigned set, unsigned way) {
    return kind_ == Replacement::kLru ? &stamps_[std::size_t{set} * ways_ + way] : nullptr;
  }
  void touch_lru(std::uint64_t* stamp) { *stamp = ++clock_; }
  // The way to replace in a set whose ways are all valid. LRU: the smallest stamp (lowest way on
  // a tie); PLRU: follow the tree bits from the root; random: the next draw modulo the ways.
  unsigned victim(unsigned set);

 private:
  void plru_touch(unsigned set, unsigned way);

  Replacement kind_;
  unsigned ways_;
  unsigned plru_levels_ = 0;            // log2(ways)
  std::vector<std::uint64_t> stamps_;   // LRU: last-use stamp per way, larger = more recent
  std::uint64_t clock_ = 0;
  // PLRU: per set, nodes 1..ways-1 of a complete binary tree (heap order; index 0 unused). A
  // node's bit names the half holding the next victim: 0 = lower ways, 1 = upper ways.
  std::vector<std::uint8_t> tree_;
  SplitMix64 rng_;
};

}  // namespace mmusim::machine
