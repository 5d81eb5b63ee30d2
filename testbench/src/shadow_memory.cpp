#include "mmusim/testbench/shadow_memory.h"

#include <stdexcept>

namespace mmusim::testbench {

const char* verdict_name(OracleVerdict::Kind kind) {
  switch (kind) {
    case OracleVerdict::Kind::kOk: return "ok";
    case OracleVerdict::Kind::kMissedCow: return "missed COW";
    case OracleVerdict::Kind::kWrongCow: return "wrong COW";
    case OracleVerdict::Kind::kLostStore: return "lost store";
  }
  return "?";
}

const ShadowMemory::View& ShadowMemory::view(const std::string& proc) const {
  auto it = views_.find(proc);
  if (it == views_.end()) throw std::logic_error("shadow memory: unknown process " + proc);
  return it->second;
}

ShadowMemory::View& ShadowMemory::view(const std::string& proc) {
  return const_cast<View&>(static_cast<const ShadowMemory*>(this)->view(proc));
}

void ShadowMemory::create(const std::string& proc) { views_[proc] = View{}; }

void ShadowMemory::map_zero(const std::string& proc, VirtAddr start, std::uint64_t len) {
  View& v = view(proc);
  v.pages.erase(v.pages.lower_bound(start), v.pages.lower_bound(start + len));
  v.device_bytes.erase(v.device_bytes.lower_bound(start), v.device_bytes.lower_bound(start + len));
}

void ShadowMemory::store(const std::string& proc, VirtAddr va, std::uint64_t value, unsigned size,
                         const std::string& device_pin) {
  View& v = view(proc);
  for (unsigned i = 0; i < size; ++i) {
    if (device_pin.empty()) v.device_bytes.erase(va + i);
    else v.device_bytes[va + i] = device_pin;
  }
  // A page the view does not hold reads as zero: storing zeros there changes nothing, and a
  // million-page first touch with 0 (as will-it-scale writes) costs no host memory.
  const std::uint64_t mask = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
  if ((value & mask) == 0 && v.pages.find(page_align_down(va)) == v.pages.end()) return;
  auto& slot = v.pages[page_align_down(va)];
  if (!slot) slot = std::make_shared<Page>(Page{});
  else if (slot.use_count() > 1) slot = std::make_shared<Page>(*slot);  // the shadow's own COW
  slot->writer = proc;
  for (unsigned i = 0; i < size; ++i) slot->bytes[(va & ~kPageMask) + i] = static_cast<std::uint8_t>(value >> (8 * i));
}

std::uint64_t ShadowMemory::read(const View& v, VirtAddr va, unsigned size) {
  auto it = v.pages.find(page_align_down(va));
  if (it == v.pages.end()) return 0;
  std::uint64_t value = 0;
  for (unsigned i = 0; i < size; ++i) value |= std::uint64_t{it->second->bytes[(va & ~kPageMask) + i]} << (8 * i);
  return value;
}

std::uint64_t ShadowMemory::expected(const std::string& proc, VirtAddr va, unsigned size) const {
  return read(view(proc), va, size);
}

void ShadowMemory::fork(const std::string& parent, const std::string& child) {
  View copy;
  copy.pages = view(parent).pages;
  views_[child] = std::move(copy);
}

void ShadowMemory::exit(const std::string& proc) {
  View& v = view(proc);
  v.alive = false;
}

OracleVerdict ShadowMemory::check_load(const std::string& proc, VirtAddr va, unsigned size,
                                       std::uint64_t got) const {
  OracleVerdict verdict;
  verdict.expected = expected(proc, va, size);
  if (got == verdict.expected) return verdict;
  // Another process's store showing through: its view holds the value read, that view's page
  // differs from ours (so the value was stored after the two were separated), and that process
  // wrote the version it holds.
  const View& mine = view(proc);
  // A device write through a pin that the process should see but does not: the pin and the
  // mapping have come apart (wrong COW).
  for (unsigned i = 0; i < size; ++i) {
    auto dev = mine.device_bytes.find(va + i);
    if (dev == mine.device_bytes.end()) continue;
    verdict.kind = OracleVerdict::Kind::kWrongCow;
    verdict.culprit = dev->second;
    return verdict;
  }
  auto my_page = mine.pages.find(page_align_down(va));
  for (const auto& [name, other] : views_) {
    if (name == proc || read(other, va, size) != got) continue;
    auto their_page = other.pages.find(page_align_down(va));
    if (their_page == other.pages.end()) continue;  // never stored there: nothing to attribute
    if (my_page != mine.pages.end() && my_page->second == their_page->second) continue;
    if (their_page->second->writer != name) continue;  // a version it inherited, not its store
    verdict.kind = OracleVerdict::Kind::kMissedCow;
    verdict.culprit = name;
    return verdict;
  }
  verdict.kind = OracleVerdict::Kind::kLostStore;
  return verdict;
}

}  // namespace mmusim::testbench
