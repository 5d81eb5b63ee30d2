#include "mmusim/machine/replacement.h"

#include <stdexcept>
#include <string>

namespace mmusim::machine {

std::uint64_t replacement_seed(std::uint64_t machine_seed, CpuId cpu, std::string_view structure) {
  // FNV-1a over the name, then splitmix64 rounds to spread the three inputs over all 64 bits.
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : structure) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  SplitMix64 mix(machine_seed ^ SplitMix64(h).next());
  return mix.next() ^ SplitMix64(std::uint64_t{cpu} + 0x51ull).next();
}

ReplacementPolicy::ReplacementPolicy(Replacement kind, unsigned sets, unsigned ways,
                                     std::uint64_t seed)
    : kind_(kind), ways_(ways), rng_(seed) {
  switch (kind_) {
    case Replacement::kLru: stamps_.assign(std::size_t{sets} * ways, 0); break;
    case Replacement::kPlru:
      if (ways == 0 || (ways & (ways - 1)) != 0)
        throw std::invalid_argument("tree-PLRU needs a power-of-two number of ways, not " +
                                    std::to_string(ways));
      while ((1u << plru_levels_) < ways) ++plru_levels_;
      tree_.assign(std::size_t{sets} * ways, 0);
      break;
    case Replacement::kRandom: break;
  }
}

// Walks from the root to the leaf of `way`, pointing every node on the path at the other half:
// the next victim is as far as the tree can tell from the way just used.
void ReplacementPolicy::plru_touch(unsigned set, unsigned way) {
  std::uint8_t* t = &tree_[std::size_t{set} * ways_];
  unsigned node = 1;
  for (unsigned level = plru_levels_; level > 0; --level) {
    const unsigned upper = (way >> (level - 1)) & 1u;
    t[node] = static_cast<std::uint8_t>(upper ^ 1u);
    node = 2 * node + upper;
  }
}

unsigned ReplacementPolicy::victim(unsigned set) {
  switch (kind_) {
    case Replacement::kLru: {
      const std::uint64_t* s = &stamps_[std::size_t{set} * ways_];
      unsigned v = 0;
      for (unsigned w = 1; w < ways_; ++w)
        if (s[w] < s[v]) v = w;
      return v;
    }
    case Replacement::kPlru: {
      const std::uint8_t* t = &tree_[std::size_t{set} * ways_];
      unsigned node = 1;
      while (node < ways_) node = 2 * node + t[node];
      return node - ways_;
    }
    case Replacement::kRandom: return static_cast<unsigned>(rng_.next() % ways_);
  }
  return 0;
}

}  // namespace mmusim::machine
