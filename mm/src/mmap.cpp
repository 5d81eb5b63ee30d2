#include "mmap.h"

#include <cerrno>
#include <vector>

#include "exit.h"

namespace mmusim::mm {
namespace {

unsigned long calc_vm_prot_bits(unsigned prot) {
  unsigned long flags = 0;
  if (prot & kProtRead) flags |= VM_READ;
  if (prot & kProtWrite) flags |= VM_WRITE;
  if (prot & kProtExec) flags |= VM_EXEC;
  // Private anonymous memory may always be made readable, writable (COW) or executable later.
  return flags | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
}

bool range_is_free(const MmStruct& mm, VirtAddr start, VirtAddr end) {
  auto it = mm.mmap.lower_bound(end);  // first VMA starting at or after `end`
  if (it == mm.mmap.begin()) return true;
  --it;
  return it->second.vm_end <= start;
}

// get_unmapped_area, top-down: the highest gap of `len` bytes below kMmapBase. A free, aligned
// hint is honoured. Returns 0 when no gap is large enough.
VirtAddr get_unmapped_area(const MmStruct& mm, VirtAddr hint, std::uint64_t len) {
  if (hint != 0 && (hint & ~kPageMask) == 0 && hint >= kMmapMinAddr &&
      hint <= x86::kUserVaEnd - len && range_is_free(mm, hint, hint + len))
    return hint;
  VirtAddr high = kMmapBase;  // top of the gap being examined
  for (auto it = mm.mmap.rbegin(); it != mm.mmap.rend(); ++it) {
    const VmArea& vma = it->second;
    if (vma.vm_start >= high) continue;
    if (vma.vm_end < high && high - vma.vm_end >= len) return high - len;
    high = vma.vm_start;
  }
  return high >= kMmapMinAddr + len ? high - len : 0;
}

}  // namespace

void do_munmap(MmEnv& env, MmStruct& mm, VirtAddr start, std::uint64_t len) {
  const VirtAddr end = start + len;
  zap_page_range(env, mm, start, end);
  std::vector<VmArea> overlapped;
  for (auto it = mm.mmap.begin(); it != mm.mmap.end();) {
    if (it->second.vm_end > start && it->second.vm_start < end) {
      overlapped.push_back(it->second);
      it = mm.mmap.erase(it);
    } else {
      ++it;
    }
  }
  for (const VmArea& vma : overlapped) {  // __split_vma: keep what lies outside the range
    if (vma.vm_start < start) {
      VmArea head = vma;
      head.vm_end = start;
      mm.mmap.emplace(head.vm_start, head);
    }
    if (vma.vm_end > end) {
      VmArea tail = vma;
      tail.vm_start = end;
      mm.mmap.emplace(tail.vm_start, tail);
    }
  }
}

long do_mmap(MmEnv& env, MmStruct& mm, VirtAddr addr, std::uint64_t len, unsigned prot,
             bool fixed) {
  if (len == 0 || (prot & ~(kProtRead | kProtWrite | kProtExec)) != 0) return -EINVAL;
  if (len > x86::kUserVaEnd) return -ENOMEM;
  len = (len + kPageSize - 1) & kPageMask;
  env.charge(CostPhase::kVmaLookup, env.costs.vma_lookup_cycles);
  if (fixed) {
    if ((addr & ~kPageMask) != 0 || addr < kMmapMinAddr || addr > x86::kUserVaEnd - len)
      return -EINVAL;
    do_munmap(env, mm, addr, len);
  } else {
    addr = get_unmapped_area(mm, addr, len);
    if (addr == 0) return -ENOMEM;
  }
  env.charge(CostPhase::kAlloc, env.costs.mmap_cycles);  // mmap_region: vm_area_alloc + insert
  VmArea vma;
  vma.vm_start = addr;
  vma.vm_end = addr + len;
  vma.vm_flags = calc_vm_prot_bits(prot);
  mm.mmap.emplace(addr, vma);
  return static_cast<long>(addr);
}

}  // namespace mmusim::mm
