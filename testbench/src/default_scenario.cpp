#include "mmusim/testbench/default_scenario.h"

namespace mmusim::testbench {

const char* const kDefaultScenario = R"(# Built-in default scenario (mmusim run without a file).
process P
mmap P A 4                  # 4 pages, private anonymous, read-write
read P A expect 0           # missing read fault: the shared zero page is mapped R/O
write P A 1                 # write to the zero page: a fresh zeroed page (wp_zero)
write P A+1p 10             # first-touch write fault (missing)
fork P C                    # both sides write-protected; P's TLB flushed before fork returns
read C A expect 1           # no fault: the child inherited the R/O entries
write P A 2                 # the page is shared: P copies it (wp_copy)
read C A expect 1           # C still sees its own value
write C A 3                 # C is now the only user: reuse in place (wp_reuse)
read P A expect 2
read C A expect 3
exit C
write P A+1p 11             # the child is gone: reuse (wp_reuse), no copy
read P A+1p expect 11
expect mm.copies == 1
expect proc.P.faults.wp_copy == 1
expect proc.C.faults.wp_reuse == 1
expect proc.P.faults.wp_reuse == 1
)";

}  // namespace mmusim::testbench
