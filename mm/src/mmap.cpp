#include "mmap.h"

#include <cerrno>
#include <iterator>

#include "exit.h"
#include "pgtable.h"
#include "tlb.h"

namespace mmusim::mm {
namespace {

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

void split_vma(MmEnv& env, MmStruct& mm, VirtAddr addr) {
  VmArea* vma = mm.find_vma(addr);
  if (!vma || vma->vm_start == addr) return;
  env.charge(CostPhase::kAlloc, env.costs.vma_split_cycles);
  VmArea tail = *vma;
  tail.vm_start = addr;
  vma->vm_end = addr;
  mm.mmap.emplace(addr, tail);
}

void vma_merge_range(MmEnv& env, MmStruct& mm, VirtAddr start, VirtAddr end) {
  // From the area before the range (it may end exactly at `start`), or the first in it.
  auto it = mm.mmap.lower_bound(start);
  if (it != mm.mmap.begin()) --it;
  while (it != mm.mmap.end() && it->second.vm_start <= end) {
    auto next = std::next(it);
    if (next == mm.mmap.end()) break;
    VmArea& prev = it->second;
    const VmArea& area = next->second;
    if (prev.vm_end != area.vm_start || prev.vm_flags != area.vm_flags) {
      it = next;
      continue;
    }
    // Both areas' pages belong to this mm's one anon_vma family, so any anon_vma state merges.
    env.charge(CostPhase::kAlloc, env.costs.vma_merge_cycles);
    prev.vm_end = area.vm_end;
    prev.anon_vma = prev.anon_vma || area.anon_vma;
    mm.mmap.erase(next);
  }
}

void do_munmap(MmEnv& env, MmStruct& mm, VirtAddr start, std::uint64_t len) {
  const VirtAddr end = start + len;
  // detach_vmas_to_be_unmapped: split at the edges, drop what lies inside.
  split_vma(env, mm, start);
  split_vma(env, mm, end);
  for (auto it = mm.mmap.lower_bound(start); it != mm.mmap.end() && it->second.vm_start < end;)
    it = mm.mmap.erase(it);
  // unmap_region: zap, detach tables no VMA needs, then one flush before anything is freed.
  MmuGather tlb{mm, /*fullmm=*/false};
  unmap_page_range(env, tlb, start, end);
  free_pgd_range(env, tlb, start, end);
  tlb_finish_mmu(env, tlb);
}

long sys_munmap(MmEnv& env, MmStruct& mm, VirtAddr start, std::uint64_t len) {
  if ((start & ~kPageMask) != 0 || len == 0 || start >= x86::kUserVaEnd ||
      len > x86::kUserVaEnd - start)
    return -EINVAL;
  len = (len + kPageSize - 1) & kPageMask;
  if (len > x86::kUserVaEnd - start) return -EINVAL;
  env.charge(CostPhase::kVmaLookup, env.costs.vma_lookup_cycles);
  do_munmap(env, mm, start, len);
  env.stats.munmaps.inc();
  return 0;
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
  // Private anonymous memory may always be made readable, writable (COW) or executable later.
  vma.vm_flags = calc_vm_prot_bits(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  mm.mmap.emplace(addr, vma);
  return static_cast<long>(addr);
}

}  // namespace mmusim::mm
