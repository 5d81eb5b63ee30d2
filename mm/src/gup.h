// get_user_pages: the slow path (__get_user_pages), GUP-fast split at its race window, unpin and
// the pin table (mm-semantics.md §3.8-§3.10, §4.4).
#pragma once

#include <vector>

#include "mm_env.h"
#include "mm_struct.h"

namespace mmusim::mm {

// is_valid_gup_args: 0, or -EINVAL for unknown bits, not exactly one of FOLL_GET / FOLL_PIN, or
// FOLL_LONGTERM without FOLL_PIN.
long check_gup_flags(unsigned gup_flags);

// __get_user_pages for one page: follow_page_pte, faultin_page, retry. Returns a handle id of
// the pin table, or -EFAULT / -ENOMEM. The faults raised are appended to `faults`.
long get_user_page(MmEnv& env, MmStruct& mm, VirtAddr address, unsigned gup_flags,
                   std::vector<FaultKind>& faults);

// GUP-fast, first half (§4.4 G1/Q1): `current` says whether `mm` is the mm current on env.cpu
// (only then may it be walked locklessly). Returns the cursor id.
long gup_fast_begin(MmEnv& env, MmStruct& mm, bool current, VirtAddr address, unsigned gup_flags);

// GUP-fast, second half (G2-G4/Q3), on the cursor's cpu, and the slow-path fallback. `mm` is the
// cursor's mm if it is still alive, else nullptr. Returns a handle id or -errno; -EINVAL for an
// unknown cursor.
long gup_fast_end(MmEnv& env, long cursor, MmStruct* mm, std::vector<FaultKind>& faults);

// unpin_user_page / put_page of a handle, with §3.10's sanity check (I3). 0 or -EINVAL.
long unpin_user_page(MmEnv& env, long id);

}  // namespace mmusim::mm
